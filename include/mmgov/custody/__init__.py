"""Chain of custody: signed manifests beside every export, ``verify``, encryption, attestations, expiry.

An auditor's question of every artifact is: what was captured, is it unaltered, and under which key
was that vouched for. Each export writes a ``manifest.json`` (what it holds: every file's size and
SHA-256, the counts, the settings, the run) and, when the ``mmgov_signing`` connection exists, a
detached Ed25519 signature ``manifest.json.sig`` over the manifest's exact bytes. The manifest is the
last thing written: its presence means the export is complete. ``python -m mmgov verify`` checks it all.
"""
