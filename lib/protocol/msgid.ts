/**
 * EnMsgType. 1..10 are exactly the original ClusterChatServer's; 18..20 are the design
 * document's; the rest are ours. docs/PROTOCOL.md describes each one.
 */
export const MsgId = {
  LOGIN_MSG: 1,
  LOGIN_MSG_ACK: 2,
  LOGINOUT_MSG: 3,
  REG_MSG: 4,
  REG_MSG_ACK: 5,
  ONE_CHAT_MSG: 6,
  ADD_FRIEND_MSG: 7,
  CREATE_GROUP_MSG: 8,
  ADD_GROUP_MSG: 9,
  GROUP_CHAT_MSG: 10,
  /** v2: the generic error reply to any request */
  ERROR_MSG: 11,
  /** v2: a chat message (6 or 10) was persisted: conv, msgSeq, mid, ts, cmid */
  CHAT_ACK: 12,
  /** v2: the generic success reply to a request the original left unanswered */
  REQ_ACK: 13,
  /** v2 client: "I have received this conversation up to msgSeq" (delivered watermark) */
  DELIVERED_MSG: 14,
  /** v2 client: page through a conversation's log */
  SYNC_MSG: 15,
  /** v2: the answer to SYNC_MSG */
  SYNC_MSG_ACK: 16,
  /** v2 client: "I have read this conversation up to msgSeq" */
  READ_MSG: 17,
  RECALL_MSG: 18,
  RECALL_MSG_ACK: 19,
  MSG_STATUS_UPDATE: 20,
  /** v2 client: leave a group */
  LEAVE_GROUP_MSG: 21,
  /** v2 client: the group's creator removes a member */
  REMOVE_MEMBER_MSG: 22,
  /** v2 client: remove a friend (the contact only) */
  REMOVE_FRIEND_MSG: 23,
  /** v2 client: status of one message (counts; the sender also gets who) */
  MSG_STATUS_QUERY: 24,
  /** v2: the answer to MSG_STATUS_QUERY */
  MSG_STATUS_ACK: 25,
  /** v2 client: list my conversations with latest seq, positions and unread counts */
  CONV_LIST_MSG: 26,
  /** v2: the answer to CONV_LIST_MSG */
  CONV_LIST_ACK: 27,
  /** v2 client heartbeat; the answer is PONG_MSG */
  PING_MSG: 28,
  PONG_MSG: 29,
  /** v2: a server notice (shutting down, session replaced) */
  NOTICE_MSG: 30,
  /** v2 client: set a conversation's disappearing-messages timer; also the timer event's push */
  TIMER_MSG: 31,
  /** v2: the push (and sync entry) of an expiry event: a message disappeared */
  EXPIRED_MSG: 32,
  /** v2 client: publish this device's end-to-end public key (key directory); REQ_ACK */
  KEY_PUBLISH_MSG: 33,
  /** v2 client: fetch the published device keys of some users */
  KEY_FETCH_MSG: 34,
  /** v2: the answer to KEY_FETCH_MSG */
  KEY_FETCH_ACK: 35,
} as const;

export type MsgIdName = keyof typeof MsgId;
export type MsgIdValue = (typeof MsgId)[MsgIdName];

/** EnMsgStatus, as in the design document */
export const MsgStatus = {
  SENDING: 0,
  SENT: 1,
  DELIVERED: 2,
  READ: 3,
  RECALLED: 4,
} as const;
