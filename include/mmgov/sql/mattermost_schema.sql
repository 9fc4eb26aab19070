-- Mattermost's PostgreSQL schema (10.x), the tables mmgov reads and writes.
-- Used ONLY to create demo and test databases: mmgov's DAGs never create or alter these tables.
-- Names, types and keys follow Mattermost's migrations (see shared/spec/mattermost-schema.md).

DO $$ BEGIN
    CREATE TYPE channel_type AS ENUM ('P', 'G', 'O', 'D');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TYPE team_type AS ENUM ('I', 'O');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS posts (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    userid varchar(26),
    channelid varchar(26),
    rootid varchar(26),
    originalid varchar(26),
    message varchar(65535),
    type varchar(26),
    props jsonb,
    hashtags varchar(1000),
    filenames varchar(4000),
    fileids varchar(300),
    hasreactions boolean,
    editat bigint,
    ispinned boolean,
    remoteid varchar(26)
);

CREATE TABLE IF NOT EXISTS channels (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    teamid varchar(26),
    type channel_type,
    displayname varchar(64),
    name varchar(64),
    header varchar(1024),
    purpose varchar(250),
    lastpostat bigint,
    totalmsgcount bigint,
    extraupdateat bigint,
    creatorid varchar(26),
    schemeid varchar(26),
    groupconstrained boolean,
    shared boolean,
    totalmsgcountroot bigint,
    lastrootpostat bigint DEFAULT 0,
    bannerinfo jsonb,
    defaultcategoryname varchar(64) NOT NULL DEFAULT '',
    UNIQUE (name, teamid)
);

CREATE TABLE IF NOT EXISTS channelmembers (
    channelid varchar(26) NOT NULL,
    userid varchar(26) NOT NULL,
    roles varchar(256),
    lastviewedat bigint,
    msgcount bigint,
    mentioncount bigint,
    notifyprops jsonb,
    lastupdateat bigint,
    schemeuser boolean,
    schemeadmin boolean,
    schemeguest boolean,
    mentioncountroot bigint,
    msgcountroot bigint,
    urgentmentioncount bigint,
    PRIMARY KEY (channelid, userid)
);

CREATE TABLE IF NOT EXISTS channelmemberhistory (
    channelid varchar(26) NOT NULL,
    userid varchar(26) NOT NULL,
    jointime bigint NOT NULL,
    leavetime bigint,
    PRIMARY KEY (channelid, userid, jointime)
);

CREATE TABLE IF NOT EXISTS users (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    username varchar(64) UNIQUE,
    password varchar(128),
    authdata varchar(128) UNIQUE,
    authservice varchar(32),
    email varchar(128) UNIQUE,
    emailverified boolean,
    nickname varchar(64),
    firstname varchar(64),
    lastname varchar(64),
    roles varchar(256),
    allowmarketing boolean,
    props jsonb,
    notifyprops jsonb,
    lastpasswordupdate bigint,
    lastpictureupdate bigint,
    failedattempts integer,
    locale varchar(5),
    mfaactive boolean,
    mfasecret varchar(128),
    "position" varchar(128),
    timezone jsonb,
    remoteid varchar(26),
    lastlogin bigint NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS bots (
    userid varchar(26) PRIMARY KEY,
    description varchar(1024),
    ownerid varchar(190),
    createat bigint,
    updateat bigint,
    deleteat bigint,
    lasticonupdate bigint
);

CREATE TABLE IF NOT EXISTS teams (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    displayname varchar(64),
    name varchar(64) UNIQUE,
    description varchar(255),
    email varchar(128),
    type team_type,
    companyname varchar(64),
    alloweddomains varchar(1000),
    inviteid varchar(32),
    schemeid varchar(26),
    allowopeninvite boolean,
    lastteamiconupdate bigint,
    groupconstrained boolean,
    cloudlimitsarchived boolean NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS teammembers (
    teamid varchar(26) NOT NULL,
    userid varchar(26) NOT NULL,
    roles varchar(256),
    deleteat bigint,
    schemeuser boolean,
    schemeadmin boolean,
    schemeguest boolean,
    createat bigint DEFAULT 0,
    PRIMARY KEY (teamid, userid)
);

CREATE TABLE IF NOT EXISTS fileinfo (
    id varchar(26) PRIMARY KEY,
    creatorid varchar(26),
    postid varchar(26),
    createat bigint,
    updateat bigint,
    deleteat bigint,
    path varchar(512),
    thumbnailpath varchar(512),
    previewpath varchar(512),
    name varchar(256),
    extension varchar(64),
    size bigint,
    mimetype varchar(256),
    width integer,
    height integer,
    haspreviewimage boolean,
    minipreview bytea,
    content text,
    remoteid varchar(26),
    archived boolean NOT NULL DEFAULT false,
    channelid varchar(26)
);

CREATE TABLE IF NOT EXISTS reactions (
    userid varchar(26) NOT NULL,
    postid varchar(26) NOT NULL,
    emojiname varchar(64) NOT NULL,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    remoteid varchar(26),
    channelid varchar(26) NOT NULL DEFAULT '',
    PRIMARY KEY (postid, userid, emojiname)
);

CREATE TABLE IF NOT EXISTS emoji (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    creatorid varchar(26),
    name varchar(64),
    UNIQUE (name, deleteat)
);

CREATE TABLE IF NOT EXISTS schemes (
    id varchar(26) PRIMARY KEY,
    name varchar(64) UNIQUE,
    displayname varchar(128),
    description varchar(1024),
    createat bigint,
    updateat bigint,
    deleteat bigint,
    scope varchar(32),
    defaultteamadminrole varchar(64),
    defaultteamuserrole varchar(64),
    defaultchanneladminrole varchar(64),
    defaultchanneluserrole varchar(64),
    defaultteamguestrole varchar(64),
    defaultchannelguestrole varchar(64),
    defaultplaybookadminrole varchar(64) DEFAULT '',
    defaultplaybookmemberrole varchar(64) DEFAULT '',
    defaultrunadminrole varchar(64) DEFAULT '',
    defaultrunmemberrole varchar(64) DEFAULT ''
);

CREATE TABLE IF NOT EXISTS roles (
    id varchar(26) PRIMARY KEY,
    name varchar(64) UNIQUE,
    displayname varchar(128),
    description varchar(1024),
    createat bigint,
    updateat bigint,
    deleteat bigint,
    permissions text,
    schememanaged boolean,
    builtin boolean
);

CREATE TABLE IF NOT EXISTS preferences (
    userid varchar(26) NOT NULL,
    category varchar(32) NOT NULL,
    name varchar(32) NOT NULL,
    value text,
    PRIMARY KEY (userid, category, name)
);

CREATE TABLE IF NOT EXISTS threads (
    postid varchar(26) PRIMARY KEY,
    replycount bigint,
    lastreplyat bigint,
    participants jsonb,
    channelid varchar(26),
    threaddeleteat bigint,
    threadteamid varchar(26)
);

CREATE TABLE IF NOT EXISTS threadmemberships (
    postid varchar(26) NOT NULL,
    userid varchar(26) NOT NULL,
    following boolean,
    lastviewed bigint,
    lastupdated bigint,
    unreadmentions bigint,
    PRIMARY KEY (postid, userid)
);

CREATE TABLE IF NOT EXISTS retentionpolicies (
    id varchar(26) PRIMARY KEY,
    displayname varchar(64),
    postduration bigint
);

CREATE TABLE IF NOT EXISTS retentionpoliciesteams (
    policyid varchar(26) REFERENCES retentionpolicies (id) ON DELETE CASCADE,
    teamid varchar(26) PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS retentionpolicieschannels (
    policyid varchar(26) REFERENCES retentionpolicies (id) ON DELETE CASCADE,
    channelid varchar(26) PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS retentionidsfordeletion (
    id varchar(26) PRIMARY KEY,
    tablename varchar(64),
    ids varchar(26)[]
);

CREATE TABLE IF NOT EXISTS jobs (
    id varchar(26) PRIMARY KEY,
    type varchar(32),
    priority bigint,
    createat bigint,
    startat bigint,
    lastactivityat bigint,
    status varchar(32),
    progress bigint,
    data jsonb
);

CREATE TABLE IF NOT EXISTS audits (
    id varchar(26) PRIMARY KEY,
    createat bigint,
    userid varchar(26),
    action varchar(512),
    extrainfo varchar(1024),
    ipaddress varchar(64),
    sessionid varchar(26)
);

CREATE TABLE IF NOT EXISTS systems (
    name varchar(64) PRIMARY KEY,
    value varchar(1024)
);

CREATE TABLE IF NOT EXISTS configurations (
    id varchar(26) PRIMARY KEY,
    value text NOT NULL,
    createat bigint NOT NULL,
    active boolean UNIQUE,
    sha varchar(64) DEFAULT ''
);
