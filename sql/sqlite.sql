-- clusterchat schema, SQLite flavour (the embedded default). SqliteStore.migrate() applies it
-- on every start: every statement is idempotent. Keep it in step with sql/mysql.sql.

CREATE TABLE IF NOT EXISTS user (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  -- scrypt$<salt hex>$<hash hex>, never plain text
  password_hash TEXT NOT NULL
);

-- a friendship is stored both ways: (a, b) and (b, a)
CREATE TABLE IF NOT EXISTS friend (
  user_id INTEGER NOT NULL,
  friend_id INTEGER NOT NULL,
  PRIMARY KEY (user_id, friend_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chat_group (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  descr TEXT NOT NULL DEFAULT '',
  creator_id INTEGER NOT NULL
);

-- one row per conversation log: `p:<lower id>:<higher id>` or `g:<groupid>`
CREATE TABLE IF NOT EXISTS conversation (
  conv TEXT NOT NULL PRIMARY KEY,
  last_seq INTEGER NOT NULL DEFAULT 0,
  -- the disappearing-messages timer in seconds (0: off), applied to sends without their own ttl
  ttl INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- membership and watermarks; a group's members are the rows of `g:<id>` with left_seq NULL
CREATE TABLE IF NOT EXISTS conv_member (
  conv TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  -- 'creator' | 'normal' for groups, NULL for pairs
  role TEXT NULL,
  -- the member sees seqs > joined_seq (and <= left_seq once left)
  joined_seq INTEGER NOT NULL DEFAULT 0,
  left_seq INTEGER NULL,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0,
  -- 1, 2, 3, ... per conversation, renewed on re-join
  join_order INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conv, user_id)
);
CREATE INDEX IF NOT EXISTS conv_member_user ON conv_member (user_id);

-- retention: the events of seqs up to upto_seq of the conversation were pruned (deleted)
CREATE TABLE IF NOT EXISTS pruned (
  conv TEXT NOT NULL PRIMARY KEY,
  upto_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- the conversation log
CREATE TABLE IF NOT EXISTS event (
  conv TEXT NOT NULL,
  seq INTEGER NOT NULL,
  mid TEXT NOT NULL UNIQUE,
  -- 'chat' | 'recall' | 'timer' | 'expire'
  kind TEXT NOT NULL,
  sender_id INTEGER NOT NULL,
  -- server time, ms since the epoch
  ts INTEGER NOT NULL,
  -- '' once recalled or expired, and for recall, timer and expire events
  text TEXT NOT NULL DEFAULT '',
  -- a recall or expire event: the seq it names; a timer event: its ttl in seconds
  ref INTEGER NULL,
  -- a chat event: 0 live, 1 recalled, 2 expired (text erased for both)
  recalled INTEGER NOT NULL DEFAULT 0,
  -- the client's message id: a resend with the same (sender, cmid) creates nothing new
  cmid TEXT NULL,
  -- a chat event that disappears: when, ms since the epoch; NULL once expired or recalled
  -- (indexed by SqliteStore.migrate(), which also adds it to a database of an older release)
  expires_at INTEGER NULL,
  PRIMARY KEY (conv, seq),
  UNIQUE (sender_id, cmid)
);

-- v2 resume credentials: only the SHA-256 of each token (hex), never the token; one row per
-- device (a password login starts one; each resume replaces its token: rotation)
CREATE TABLE IF NOT EXISTS session_tokens (
  hash TEXT NOT NULL PRIMARY KEY,
  user_id INTEGER NOT NULL,
  device TEXT NOT NULL,
  -- ms since the epoch: the device's password login, the token's end, its last resume
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  last_used INTEGER NULL,
  UNIQUE (user_id, device)
) WITHOUT ROWID;

-- the key directory of end-to-end encrypted messages: each device's X25519 public key (raw,
-- base64), chosen and published by the device; a user keeps the most recently published few
CREATE TABLE IF NOT EXISTS device_keys (
  user_id INTEGER NOT NULL,
  device TEXT NOT NULL,
  pubkey TEXT NOT NULL,
  -- ms since the epoch of the last publish
  updated INTEGER NOT NULL,
  PRIMARY KEY (user_id, device)
) WITHOUT ROWID;
