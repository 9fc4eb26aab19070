-- Mattermost's indexes on the tables mmgov queries (names as in Mattermost's migrations).
-- Kept apart from the tables so a bulk load can build them once, after COPY.
CREATE INDEX IF NOT EXISTS idx_posts_update_at ON posts (updateat);
CREATE INDEX IF NOT EXISTS idx_posts_create_at ON posts (createat);
CREATE INDEX IF NOT EXISTS idx_posts_delete_at ON posts (deleteat);
CREATE INDEX IF NOT EXISTS idx_posts_channel_id_update_at ON posts (channelid, updateat);
CREATE INDEX IF NOT EXISTS idx_posts_channel_id_delete_at_create_at ON posts (channelid, deleteat, createat);
CREATE INDEX IF NOT EXISTS idx_posts_root_id_delete_at ON posts (rootid, deleteat);
CREATE INDEX IF NOT EXISTS idx_posts_user_id ON posts (userid);
CREATE INDEX IF NOT EXISTS idx_posts_is_pinned ON posts (ispinned);
CREATE INDEX IF NOT EXISTS idx_posts_create_at_id ON posts (createat, id);
CREATE INDEX IF NOT EXISTS idx_posts_original_id ON posts (originalid);
CREATE INDEX IF NOT EXISTS idx_fileinfo_postid_at ON fileinfo (postid);
CREATE INDEX IF NOT EXISTS idx_fileinfo_update_at ON fileinfo (updateat);
CREATE INDEX IF NOT EXISTS idx_fileinfo_create_at ON fileinfo (createat);
CREATE INDEX IF NOT EXISTS idx_fileinfo_delete_at ON fileinfo (deleteat);
CREATE INDEX IF NOT EXISTS idx_channelmemberhistory_channelid_leavetime ON channelmemberhistory (channelid, leavetime);
CREATE INDEX IF NOT EXISTS idx_channelmembers_user_id_channel_id_last_viewed_at ON channelmembers (userid, channelid, lastviewedat);
CREATE INDEX IF NOT EXISTS idx_channels_team_id_type ON channels (teamid, type);
CREATE INDEX IF NOT EXISTS idx_reactions_channel_id ON reactions (channelid);
CREATE INDEX IF NOT EXISTS idx_preferences_category ON preferences (category);
CREATE INDEX IF NOT EXISTS idx_preferences_name ON preferences (name);
CREATE INDEX IF NOT EXISTS idx_threads_channel_id_last_reply_at ON threads (channelid, lastreplyat);
CREATE INDEX IF NOT EXISTS idx_teammembers_user_id ON teammembers (userid);
