// The balancers of the rolling-restart test, each run as a child process with
// its own configuration on loopback ports (never as a system service):
// HAProxy with active checks, HAProxy without checks standing in for
// Kubernetes (the test takes the backend out N s after its SIGTERM through
// the runtime API, as an endpoint controller would), nginx open source
// (pooled keep-alive upstreams, no checks) and Caddy (active checks, no
// retries, HTTP/2 cleartext to the backends).

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { freePort, modelledDelay, waitForListener, Watched } from "./processes.ts";

export const HAPROXY = "/usr/sbin/haproxy";
export const NGINX = "/usr/sbin/nginx";
export const CADDY = "/usr/bin/caddy";
const NGINX_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so";

export interface Slot {
  name: string;
  httpPort: number;
  respPort: number;
  wsPort: number;
  runtime: [string, string[]];
  generation: number;
  process?: Watched;
}

export interface Ports {
  http: number;
  ws: number;
  resp?: number; // absent where the front cannot carry a TCP protocol
}

/** A running balancer and what an orchestrator does with it around a restart. */
export interface Front {
  readonly ports: Ports;
  readonly process: Watched;
  /** After `slot`'s SIGTERM: resolves once the balancer sends it nothing new. */
  takeOut(slot: Slot, signalled: number): Promise<void>;
  /** After the replacement printed `ready`: puts it back where the orchestrator does so. */
  bringBack(slot: Slot): Promise<void>;
  /**
   * A backend in rotation soon gets a request: false where clients keep
   * their connections to the backends they have (layer 4, as kube-proxy).
   */
  readonly spreads: boolean;
}

export interface FrontKind {
  name: string;
  binary: string;
  /** The backends' drainDelay, in ms, chosen as docs/load-balancers.md says. */
  drainDelay: number;
  /** The backends serve HTTP as cleartext HTTP/2. */
  h2c: boolean;
  start(dir: string, slots: Slot[]): Promise<Front>;
}

async function listening(child: Watched, ports: Ports, who: string): Promise<void> {
  for (const port of Object.values(ports)) {
    await waitForListener(port as number, `${who} (${child.output.slice(-400)})`);
  }
}

async function allPorts(resp: boolean): Promise<Ports> {
  return {
    http: await freePort(),
    ws: await freePort(),
    ...(resp ? { resp: await freePort() } : {}),
  };
}

function haproxyConfig(ports: Ports, slots: Slot[], checks: boolean, admin: string): string {
  const check = checks ? " check inter 100 fall 2 rise 2" : "";
  const servers = (port: (slot: Slot) => number) =>
    slots.map((slot) => `  server ${slot.name} 127.0.0.1:${port(slot)}${check}\n`).join("");
  // Without checks HAProxy stands in for kube-proxy: layer 4, each client
  // connection stays with the backend it was given, and a refused connect is
  // the client's error (no retry, no redispatch).
  // A check may take up to 1 s (the default, `inter`, is 100 ms): on a busy
  // machine a backend late to answer would otherwise flap DOWN and UP, and a
  // server already DOWN when its SIGTERM comes never logs going DOWN.
  const mode = checks ? "http" : "tcp";
  return `global
  log stderr format raw local0 info
  stats socket ${admin} level admin
defaults
  log global
  option dontlog-normal
  ${checks ? "retries 3\n  option redispatch" : "retries 0"}
  timeout connect 1s
  timeout check 1s
  timeout client 30s
  timeout server 30s
frontend http_in
  mode ${mode}
  option ${checks ? "httplog" : "tcplog"}
  bind 127.0.0.1:${ports.http}
  default_backend http_back
backend http_back
  mode ${mode}
  balance roundrobin
${checks ? "  option httpchk GET /healthz\n" : ""}${
    servers((slot) => slot.httpPort)
  }frontend resp_in
  mode tcp
  option tcplog
  bind 127.0.0.1:${ports.resp}
  default_backend resp_back
backend resp_back
  mode tcp
  balance roundrobin
${
    checks
      ? "  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect string +PONG\n"
      : ""
  }${servers((slot) => slot.respPort)}frontend ws_in
  mode ${mode}
  option ${checks ? "httplog" : "tcplog"}
  bind 127.0.0.1:${ports.ws}
  default_backend ws_back
backend ws_back
  mode ${mode}
  balance roundrobin
  timeout tunnel 60s
${checks ? "  option httpchk GET /healthz\n" : ""}${servers((slot) => slot.wsPort)}`;
}

/** One command on HAProxy's runtime API (the stats socket); its answer. */
function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const connection = net.connect(socket, () => connection.end(`${command}\n`));
    connection.on("data", (chunk) => answer += chunk);
    connection.on("end", () => resolve(answer.trim()));
    connection.on("error", reject);
  });
}

const backends = ["http_back", "resp_back", "ws_back"];

/** HAProxy 2.6 with active health checks, the backend taken out by its failing /healthz and PING. */
export const haproxyChecks: FrontKind = {
  name: "HAProxy (active checks)",
  binary: HAPROXY,
  drainDelay: 1_000, // longer than the failing-check window: fall 2 x inter 100 ms
  h2c: false,
  async start(dir, slots) {
    const ports = await allPorts(true);
    writeFileSync(join(dir, "haproxy.cfg"), haproxyConfig(ports, slots, true, join(dir, "admin")));
    const haproxy = new Watched(HAPROXY, ["-f", join(dir, "haproxy.cfg"), "-db"]);
    await listening(haproxy, ports, "HAProxy");
    const down = (slot: Slot, from: number) =>
      Promise.all(
        backends.map((b) => haproxy.waitFor(`Server ${b}/${slot.name} is DOWN`, 10_000, from)),
      );
    let mark = 0;
    return {
      ports,
      process: haproxy,
      spreads: true,
      async takeOut(slot) {
        await down(slot, haproxy.output.length); // called right after the SIGTERM
        mark = haproxy.output.length;
      },
      async bringBack(slot) {
        await Promise.all(
          backends.map((b) => haproxy.waitFor(`Server ${b}/${slot.name} is UP`, 10_000, mark)),
        );
      },
    };
  },
};

/**
 * Kubernetes' endpoint lag: HAProxy in TCP mode without checks (kube-proxy),
 * the backend put in maintenance `lagMs` after its SIGTERM whatever its
 * health says (the endpoint controller), back in once its replacement is
 * ready (the readiness probe). drainDelay = lag + 1 s.
 */
export function endpointLag(lagMs: number, drainDelay = lagMs + 1_000): FrontKind {
  return {
    name: `endpoint lag ${lagMs / 1000} s (HAProxy without checks, drainDelay ${
      drainDelay / 1000
    } s)`,
    binary: HAPROXY,
    drainDelay,
    h2c: false,
    async start(dir, slots) {
      const ports = await allPorts(true);
      const admin = join(dir, "admin");
      writeFileSync(join(dir, "haproxy.cfg"), haproxyConfig(ports, slots, false, admin));
      const haproxy = new Watched(HAPROXY, ["-f", join(dir, "haproxy.cfg"), "-db"]);
      await listening(haproxy, ports, "HAProxy");
      const state = async (slot: Slot, to: "maint" | "ready") => {
        for (const b of backends) {
          const answer = await haproxyCommand(admin, `set server ${b}/${slot.name} state ${to}`);
          if (answer !== "") throw new Error(`HAProxy: set server ${b}/${slot.name}: ${answer}`);
        }
      };
      return {
        ports,
        process: haproxy,
        spreads: false,
        async takeOut(slot, signalled) {
          await modelledDelay(signalled + lagMs - Date.now());
          await state(slot, "maint");
        },
        bringBack: (slot) => state(slot, "ready"),
      };
    },
  };
}

/**
 * nginx 1.22 open source: pooled keep-alive upstreams, a failed connect or a
 * timeout passed to the next server (nginx never passes on a POST it has
 * sent), no active checks. One refused connect takes an HTTP server out for
 * fail_timeout: 2 s here, instead of the default 10 s, so that a restarted
 * backend gets traffic again soon. The Redis protocol goes through the stream
 * module where it is installed (Debian: libnginx-mod-stream).
 */
export const nginx: FrontKind = {
  name: "nginx (keep-alive upstreams, no checks)",
  binary: NGINX,
  drainDelay: 1_500,
  h2c: false,
  async start(dir, slots) {
    const stream = existsSync(NGINX_STREAM);
    const ports = await allPorts(stream);
    // One failure takes an HTTP server out for fail_timeout. A long-lived
    // connection (WebSocket, Redis protocol) counts as a success only when it
    // ends, so such a server would stay out: there, no failure accounting
    // (max_fails=0), and a refused connect simply moves on to the next server.
    const servers = (port: (slot: Slot) => number, failures = "max_fails=0") =>
      slots.map((slot) => `    server 127.0.0.1:${port(slot)} ${failures};\n`).join("");
    for (const temp of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      mkdirSync(join(dir, temp), { recursive: true });
    }
    const config = `${stream ? `load_module ${NGINX_STREAM};\n` : ""}worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  upstream http_back {
${servers((slot) => slot.httpPort, "max_fails=1 fail_timeout=2s")}    keepalive 32;
  }
  upstream ws_back {
${servers((slot) => slot.wsPort)}  }
  server {
    listen 127.0.0.1:${ports.http};
    location / {
      proxy_pass http://http_back;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
    }
  }
  server {
    listen 127.0.0.1:${ports.ws};
    location / {
      proxy_pass http://ws_back;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 60s;
    }
  }
}
${
      stream
        ? `stream {
  upstream resp_back {
${servers((slot) => slot.respPort)}  }
  server {
    listen 127.0.0.1:${ports.resp};
    proxy_pass resp_back;
  }
}
`
        : ""
    }`;
    writeFileSync(join(dir, "nginx.conf"), config);
    const child = new Watched(NGINX, [
      "-p",
      dir,
      "-c",
      join(dir, "nginx.conf"),
      "-e",
      "stderr",
      "-g",
      "daemon off;",
    ]);
    await listening(child, ports, "nginx");
    return {
      ports,
      process: child,
      spreads: true,
      takeOut: async () => {},
      bringBack: async () => {},
    };
  },
};

/**
 * Caddy 2.6: active checks on /healthz every second (one failure takes the
 * backend out), no retries (`lb_try_duration 0`), HTTP to the backends as
 * cleartext HTTP/2 (`versions h2c`); WebSockets over HTTP/1.1. Caddy has no
 * TCP proxy without the layer4 plugin, which Debian's build lacks: no Redis
 * protocol here.
 */
export const caddy: FrontKind = {
  name: "Caddy (active checks, no retries, h2c to the backends)",
  binary: CADDY,
  drainDelay: 2_000, // health_interval 1 s, one failed check, and a second to spare
  h2c: true,
  async start(dir, slots) {
    const ports = await allPorts(false);
    const upstreams = (port: (slot: Slot) => number) =>
      slots.map((slot) => `127.0.0.1:${port(slot)}`).join(" ");
    const proxy = (port: (slot: Slot) => number, transport: string) =>
      `reverse_proxy ${upstreams(port)} {
    lb_policy round_robin
    lb_try_duration 0
    health_uri /healthz
    health_interval 1s
${transport}  }`;
    const config = `{
  admin off
  auto_https off
  storage file_system ${join(dir, "caddy")}
}
http://127.0.0.1:${ports.http} {
  ${proxy((slot) => slot.httpPort, "    transport http {\n      versions h2c\n    }\n")}
}
http://127.0.0.1:${ports.ws} {
  ${proxy((slot) => slot.wsPort, "")}
}
`;
    writeFileSync(join(dir, "Caddyfile"), config);
    const child = new Watched(
      CADDY,
      ["run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"],
      { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    );
    await listening(child, ports, "Caddy");
    return {
      ports,
      process: child,
      spreads: true,
      takeOut: async () => {},
      bringBack: async () => {},
    };
  },
};
