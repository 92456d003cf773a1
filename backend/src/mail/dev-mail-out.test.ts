import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API } from '../../../shared/api.js';
import { buildApp } from '../app.js';
import { DIALECTS } from '../testing/harness.js';
import { DEV_MAIL_OUT_PATH, startMailCatcher, type MailCatcher } from './dev-mail-out.js';
import { MailSender } from './sender.js';
import { quietLog, startMailBackend, testMailConfig, type MailTestBackend } from './test-support/mail-backend.js';

describe.each(DIALECTS)('the development mail catcher on %s', (dialect) => {
  let backend: MailTestBackend;
  let catcher: MailCatcher;
  let dir: string;

  beforeAll(async () => {
    backend = await startMailBackend(dialect);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-mail-out-'));
    catcher = await startMailCatcher({ dir });
  });
  afterAll(async () => {
    await catcher?.close();
    await backend?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes an approved reply as the relay, keeps it as an .eml file, and lists it on the dev page', async () => {
    await backend.deliver({ from: 'hanako@customer.example', to: backend.mail.supportAddress, subject: 'Catch me', text: 'Please answer.', messageId: '<catch-1@customer.example>' });
    const mail = await backend.db.selectFrom('mail_messages').select('id').where('message_id', '=', 'catch-1@customer.example').executeTakeFirstOrThrow();
    const replyId = randomUUID();
    await backend.call('PUT', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent, { mailId: mail.id, body: 'Answer <b>caught</b>.' });
    await backend.call('POST', MAIL_API.replySubmit.replace(':id', replyId), backend.tokens.agent);
    expect((await backend.call('POST', MAIL_API.replyApprove.replace(':id', replyId), backend.tokens.supervisor, {})).statusCode).toBe(200);

    const sender = new MailSender({ handle: backend.handle, config: testMailConfig({ relayUrl: catcher.url }), log: quietLog });
    expect(await sender.runOnce()).toMatchObject({ sent: 1, retried: 0, failed: 0 });
    const files = fs.readdirSync(dir);
    expect(files).toEqual([expect.stringMatching(/\.eml$/)]);
    expect(fs.readFileSync(path.join(dir, files[0]!), 'utf8')).toMatch(/To: hanako@customer\.example/);

    const app = buildApp({ db: backend.handle, config: { ...backend.config, devMailOutDir: dir } });
    try {
      const page = await app.inject({ method: 'GET', url: DEV_MAIL_OUT_PATH });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('hanako@customer.example');
      expect(page.body).toContain('Catch me');
      const raw = await app.inject({ method: 'GET', url: `${DEV_MAIL_OUT_PATH}/${files[0]}` });
      expect(raw.headers['content-type']).toMatch(/^text\/plain/);
      expect(raw.body).toContain('Answer <b>caught</b>.');
      // Only the catcher's own files, never a path out of the folder.
      expect((await app.inject({ method: 'GET', url: `${DEV_MAIL_OUT_PATH}/..%2Fbackend.db` })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
    // Without the setting there is no such page.
    expect((await backend.app.inject({ method: 'GET', url: DEV_MAIL_OUT_PATH })).statusCode).toBe(404);
  });
});
