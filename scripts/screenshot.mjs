#!/usr/bin/env node
// Makes docs/browser-client.png: the browser client's chat page in Debian's chromium (headless,
// through playwright-core), against a throwaway embedded server with a short conversation.
// Run it with `make screenshot` (which builds dist/ first). CHROMIUM names another browser binary.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createApp } from '../dist/lib/app.js';
import { ChatClient } from '../dist/lib/client/client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'docs', 'browser-client.png');
const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-shot-'));
const app = createApp({ port: 0, wsPort: 0, db: path.join(dir, 'chat.db'), logLevel: 'silent', scryptParams: 'ln=10,r=8,p=1' });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const clients = [];
try {
  const { port } = await app.start();
  const wsPort = app.wsAddress.port;
  const user = async (name) => {
    const c = await ChatClient.connect({ host: '127.0.0.1', port, reconnect: false });
    clients.push(c);
    const id = await c.register(name, 'secret');
    await c.login(id, 'secret');
    return { c, id };
  };
  const zhang = await user('zhang san');
  const li = await user('li si');
  const wang = await user('wang wu');
  await zhang.c.addFriend(li.id);
  await zhang.c.addFriend(wang.id);
  const gid = await zhang.c.createGroup('C++ chat project', 'start develop a chat project');
  await li.c.joinGroup(gid);
  await wang.c.joinGroup(gid);
  await zhang.c.sendGroup(gid, 'welcome to the group');
  await li.c.sendGroup(gid, 'thanks!');
  await wang.c.sendTo(zhang.id, 'lunch at noon?');

  const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
  await page.goto(`http://127.0.0.1:${wsPort}/`);
  await page.locator('#conn[data-state="up"]').waitFor();
  await page.fill('#login-form input[name=id]', String(zhang.id));
  await page.fill('#login-form input[name=password]', 'secret');
  await page.click('#login-form button');
  await page.locator('#app').waitFor();
  await page.click(`#convs li[data-conv="p:${Math.min(zhang.id, li.id)}:${Math.max(zhang.id, li.id)}"], #friends li[data-id="${li.id}"]`);
  const send = async (text) => {
    await page.fill('#composer input[name=text]', text);
    await page.click('#composer button');
  };
  await send('hello li si');
  await page.locator('#messages li[data-seq="1"] .status[data-status="delivered"]').waitFor();
  await li.c.markRead(`p:${Math.min(zhang.id, li.id)}:${Math.max(zhang.id, li.id)}`, 1);
  await page.locator('#messages li[data-seq="1"] .status[data-status="read"]').waitFor();
  await li.c.sendTo(zhang.id, 'hi zhang san, how are you?');
  await page.locator('#messages li[data-seq="2"]').waitFor();
  await send('fine, and the project is going well');
  await page.locator('#messages li[data-seq="3"] .status[data-status="delivered"]').waitFor();
  await page.screenshot({ path: out });
  console.log(`wrote ${path.relative(root, out)}`);
} finally {
  for (const c of clients) c.close();
  await browser.close();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
}
