"""mmgov: data-governance pipelines for Mattermost (compliance export, retention, GDPR export)."""

__version__ = "0.1.0"
