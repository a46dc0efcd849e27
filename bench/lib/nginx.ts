/**
 * nginx (the Debian package's binary) serving one directory on a loopback port, configured
 * from scratch in a temp dir so it needs no root and touches nothing of the system's.
 * Settings are those of Debian's stock nginx.conf that matter for one big static file:
 * sendfile on, tcp_nopush on; one worker process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { stopChild, trackChild } from './procs.js'

export const NGINX = process.env.BENCH_NGINX ?? process.env.CAIRN_TEST_NGINX ?? '/usr/sbin/nginx'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => { resolve(port) })
    })
  })
}

async function answers (url: string): Promise<boolean> {
  return await new Promise(resolve => {
    const req = request(url, { method: 'HEAD' }, res => { res.resume(); resolve(true) })
    req.once('error', () => { resolve(false) })
    req.end()
  })
}

export interface Nginx { url: string, child: ChildProcess, stop: () => Promise<void> }

export async function startNginx (prefix: string, root: string, opts: { sendfile?: boolean } = {}): Promise<Nginx> {
  return await runNginx(prefix, port => `
  sendfile ${opts.sendfile === false ? 'off' : 'on'};
  tcp_nopush on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }`)
}

/**
 * nginx as a load balancer over `backends` (base URLs) on a loopback port: streaming both
 * ways (no buffering, no body cap), keep-alive upstream, round robin. The multi-node test
 * puts two Cairn API nodes behind it, as deploy/nginx.conf does in docker-compose.
 */
export async function startLoadBalancer (prefix: string, backends: string[]): Promise<Nginx> {
  const servers = backends.map(b => `    server ${new URL(b).host};`).join('\n')
  return await runNginx(prefix, port => `
  upstream cairn_api {
${servers}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    location / {
      proxy_pass http://cairn_api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`)
}

/** Start nginx in the foreground with `http` (given the port to listen on) as its http block. */
async function runNginx (prefix: string, http: (port: number) => string): Promise<Nginx> {
  await mkdir(join(prefix, 'tmp'), { recursive: true })
  const port = await freePort()
  const conf = join(prefix, 'nginx.conf')
  const log = join(prefix, 'error.log')
  // as root, nginx's workers would run as nobody, who may not enter our 0700 temp dir
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : ''
  await writeFile(conf, `
${user}worker_processes 1;
daemon off;
pid ${join(prefix, 'nginx.pid')};
error_log ${log} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'tmp', 'body')};
  proxy_temp_path ${join(prefix, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(prefix, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(prefix, 'tmp', 'scgi')};
${http(port)}
}
`)
  // -e: even the start-up error log (before the config is read) goes to the temp dir
  const child = trackChild(spawn(NGINX, ['-p', prefix, '-c', conf, '-e', log], { stdio: ['ignore', 'ignore', 'pipe'] }))
  let err = ''
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000) })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  while (!(await answers(url + '/'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const logged = await readFile(log, 'utf8').catch(() => '')
      await stopChild(child, 1000)
      throw new Error(`nginx did not start: ${err}${logged}`)
    }
    await sleep(50)
  }
  // master + worker: SIGTERM to the master is nginx's fast shutdown, which takes the worker with it
  return { url, child, stop: async () => { await stopChild(child, 5000) } }
}
