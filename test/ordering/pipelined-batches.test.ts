/**
 * The commit batcher on MariaDB runs batches of disjoint conversations at once, and keeps each
 * conversation's ops in one batch at a time: seqs, results and onCommitted in submission order
 * per conversation, resends answered with the first copy.
 */
import mysql from 'mysql2/promise';
import t from 'tap';
import { CommitBatcher } from '../../lib/core/batcher.js';
import { pairConv, type ConvId } from '../../lib/protocol/conv.js';
import { MysqlStore } from '../../lib/store/mysql/index.js';
import type { CommitOp, CommitResult, LogEvent } from '../../lib/store/types.js';
import { chat } from '../fixtures/store-contract.js';
import { MYSQL_URL, needServices, uniqueSuffix } from '../fixtures/services.js';

t.setTimeout(120_000);

if (await needServices(t, 'mysql')) {
  t.test('batches of disjoint conversations overlap; each conversation keeps its order', async (t) => {
    const database = `chat_test_${uniqueSuffix()}`;
    const u = new URL(MYSQL_URL);
    u.pathname = `/${database}`;
    const store = new MysqlStore({ url: u.toString() });
    t.teardown(async () => {
      await store.close();
      const admin = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username) || 'root', password: decodeURIComponent(u.password) });
      await admin.query('DROP DATABASE IF EXISTS ??', [database]);
      await admin.end();
    });
    await store.migrate();
    const a = (await store.createUser('alice', 'scrypt$00$11'))!;

    /** per conversation: the seqs onCommitted saw, in the order it saw them */
    const committed = new Map<ConvId, number[]>();
    const batcher = new CommitBatcher(store, {
      maxBatch: 20,
      maxInFlight: 4,
      maxQueue: 0,
      onCommitted: (_ops, results) => {
        for (const r of results) {
          if (r.op !== 'append' || r.duplicate) continue;
          const list = committed.get(r.event.conv) ?? [];
          list.push(r.event.seq);
          committed.set(r.event.conv, list);
        }
      },
    });

    const hot = pairConv(a, 5000);
    const convs = Array.from({ length: 40 }, (_, i) => pairConv(a, 1000 + i));
    /** per conversation: the texts in submission order, and their results */
    const submitted = new Map<ConvId, Array<{ text: string; result: Promise<CommitResult> }>>();
    const submit = (conv: ConvId, text: string, cmid: string) => {
      const op: CommitOp = { op: 'append', event: chat(conv, a, text, cmid) };
      const list = submitted.get(conv) ?? [];
      list.push({ text, result: batcher.submit(op) });
      submitted.set(conv, list);
    };
    const resends: Array<{ first: string; again: Promise<CommitResult> }> = [];
    for (let round = 0; round < 60; round++) {
      // five conversations a round, another five the next: the next round's find theirs free
      for (let k = 0; k < 5; k++) {
        const conv = convs[(round * 5 + k) % convs.length]!;
        submit(conv, `r${round} k${k}`, `c-${round}-${k}`);
      }
      // one conversation in every round: always held by the batch before
      submit(hot, `hot ${round}`, `hot-${round}`);
      if (round % 10 === 5) {
        // a resend while the first copy may still be in flight
        resends.push({ first: `hot ${round}`, again: batcher.submit({ op: 'append', event: chat(hot, a, `hot ${round} again`, `hot-${round}`) }) });
      }
      await new Promise((r) => setImmediate(r));
    }
    await batcher.idle();

    t.ok(batcher.maxOverlap >= 2, `batches overlapped (at most ${batcher.maxOverlap} at once)`);
    for (const [conv, list] of submitted) {
      const events = (await Promise.all(list.map((s) => s.result))).map((r) => (r as CommitResult & { op: 'append' }).event);
      const seqs = events.map((e) => e.seq);
      t.strictSame(seqs, seqs.map((_, i) => i + 1), `${conv}: seqs 1..${seqs.length} in submission order`);
      t.strictSame(committed.get(conv), seqs, `${conv}: onCommitted saw them in that order`);
      const log: LogEvent[] = await store.readRange(conv, 1, 1000, 1000);
      t.strictSame(
        log.map((e) => e.text),
        list.map((s) => s.text),
        `${conv}: the log holds them in that order`,
      );
    }
    for (const r of resends) {
      const again = (await r.again) as CommitResult & { op: 'append' };
      t.ok(again.duplicate && again.event.text === r.first, `the resend of "${r.first}" is answered with the first copy`);
    }
  });
}
