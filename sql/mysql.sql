-- clusterchat schema, MySQL/MariaDB flavour (cluster mode). MysqlStore.migrate() applies it on
-- every start, possibly from several processes at once: every statement is idempotent.
-- Statements end with `;` at the end of a line (the migrator splits there).
-- utf8mb4_bin: names, cmids and conversation ids compare byte-exactly (case matters).
-- Keep it in step with sql/sqlite.sql.

CREATE TABLE IF NOT EXISTS `user` (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(255) NOT NULL,
  -- scrypt$<salt hex>$<hash hex>, never plain text
  password_hash VARCHAR(255) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY user_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- a friendship is stored both ways: (a, b) and (b, a)
CREATE TABLE IF NOT EXISTS friend (
  user_id INT UNSIGNED NOT NULL,
  friend_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (user_id, friend_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS chat_group (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(255) NOT NULL,
  descr TEXT NOT NULL,
  creator_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY chat_group_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- one row per conversation log: `p:<lower id>:<higher id>` or `g:<groupid>`; its row lock
-- serialises seq allocation and membership changes of that conversation
CREATE TABLE IF NOT EXISTS conversation (
  conv VARCHAR(64) NOT NULL,
  last_seq BIGINT NOT NULL DEFAULT 0,
  -- the disappearing-messages timer in seconds (0: off), applied to sends without their own ttl
  ttl INT NOT NULL DEFAULT 0,
  PRIMARY KEY (conv)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- membership and watermarks; a group's members are the rows of `g:<id>` with left_seq NULL
CREATE TABLE IF NOT EXISTS conv_member (
  conv VARCHAR(64) NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  -- 'creator' | 'normal' for groups, NULL for pairs
  role VARCHAR(16) NULL,
  -- the member sees seqs > joined_seq (and <= left_seq once left)
  joined_seq BIGINT NOT NULL DEFAULT 0,
  left_seq BIGINT NULL,
  delivered_seq BIGINT NOT NULL DEFAULT 0,
  read_seq BIGINT NOT NULL DEFAULT 0,
  -- increasing; a re-join re-inserts the row and so gets a new one
  join_order BIGINT NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (conv, user_id),
  KEY conv_member_user (user_id),
  KEY conv_member_order (join_order)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- retention: the events of seqs up to upto_seq of the conversation were pruned (deleted)
CREATE TABLE IF NOT EXISTS pruned (
  conv VARCHAR(64) NOT NULL,
  upto_seq BIGINT NOT NULL,
  PRIMARY KEY (conv)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- the conversation log
CREATE TABLE IF NOT EXISTS event (
  conv VARCHAR(64) NOT NULL,
  seq BIGINT NOT NULL,
  mid VARCHAR(64) NOT NULL,
  -- 'chat' | 'recall' | 'timer' | 'expire'
  kind VARCHAR(16) NOT NULL,
  sender_id INT UNSIGNED NOT NULL,
  -- server time, ms since the epoch
  ts BIGINT NOT NULL,
  -- '' once recalled or expired, and for recall, timer and expire events
  `text` MEDIUMTEXT NOT NULL,
  -- a recall or expire event: the seq it names; a timer event: its ttl in seconds
  ref BIGINT NULL,
  -- a chat event: 0 live, 1 recalled, 2 expired (text erased for both)
  recalled TINYINT NOT NULL DEFAULT 0,
  -- the client's message id: a resend with the same (sender, cmid) creates nothing new
  cmid VARCHAR(64) NULL,
  -- a chat event that disappears: when, ms since the epoch; NULL once expired or recalled
  -- (MysqlStore.migrate() adds it and its index to a database of an older release)
  expires_at BIGINT NULL,
  PRIMARY KEY (conv, seq),
  UNIQUE KEY event_mid (mid),
  UNIQUE KEY event_cmid (sender_id, cmid),
  KEY event_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- v2 resume credentials: only the SHA-256 of each token (hex), never the token; one row per
-- device (a password login starts one; each resume replaces its token: rotation)
CREATE TABLE IF NOT EXISTS session_tokens (
  hash CHAR(64) NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  device VARCHAR(64) NOT NULL,
  -- ms since the epoch: the device's password login, the token's end, its last resume
  created BIGINT NOT NULL,
  expires BIGINT NOT NULL,
  last_used BIGINT NULL,
  PRIMARY KEY (hash),
  UNIQUE KEY session_tokens_device (user_id, device)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- the key directory of end-to-end encrypted messages: each device's X25519 public key (raw,
-- base64), chosen and published by the device; a user keeps the most recently published few
CREATE TABLE IF NOT EXISTS device_keys (
  user_id INT UNSIGNED NOT NULL,
  device VARCHAR(64) NOT NULL,
  pubkey CHAR(44) NOT NULL,
  -- ms since the epoch of the last publish
  updated BIGINT NOT NULL,
  PRIMARY KEY (user_id, device)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
