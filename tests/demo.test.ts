import assert from "node:assert/strict";
import http from "node:http";
import { TestClient } from "./_client.ts";
import { example, test } from "./_harness.ts";
import { request } from "./_http_client.ts";
import { Child } from "./_process.ts";

test("demo: SIGTERM lets in-flight HTTP and RESP work finish, then exits 0 by itself", async (t) => {
  const child = new Child(example("demo"), [], {
    HTTP_PORT: "0",
    RESP_PORT: "0",
    LOG_COMMANDS: "1",
    GRACE_PERIOD: "5000",
  });
  t.cleanup(() => child.process.kill("SIGKILL"));
  const httpPort = Number((await child.waitForOutput(/http listening on [^:]+:(\d+)/))[1]);
  const respPort = Number((await child.waitForOutput(/resp listening on [^:]+:(\d+)/))[1]);
  const agent = new http.Agent({ keepAlive: true });
  t.cleanup(() => agent.destroy());
  assert.match((await request(agent, httpPort, "/")).body, /hello from lastcall/);
  let slowStarted!: () => void;
  const started = new Promise<void>((resolve) => slowStarted = resolve);
  const slow = request(agent, httpPort, "/slow?ms=400");
  const events = request(agent, httpPort, "/events", { onResponse: () => slowStarted() });
  const resp = await TestClient.connect(respPort);
  resp.send("SLOW 300\r\n");
  await child.waitForOutput(/exec SLOW 300/);
  await started;
  child.signal("SIGTERM");
  const [slowDone, eventsDone] = await Promise.all([slow, events]);
  assert.equal(slowDone.body, "slow work done\n");
  assert.equal(slowDone.headers.connection, "close");
  assert.match(eventsDone.body, /event: bye\ndata: server going away\n\n$/);
  await resp.waitClosed();
  assert.equal(resp.text, "+OK\r\n");
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /http down: \{"graceful":true/);
  assert.match(exit.stdout, /resp down: \{"graceful":true,"closedIdle":0,"drained":1,"forced":0/);
});
