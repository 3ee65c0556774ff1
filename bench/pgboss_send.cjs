// pg-boss send() on the same server, for bench/ingest_pg.sh (optional: the peer of one
// acknowledged webhook, one durable enqueue per call, measured in the same run as memoryd).
// pg-boss is not a dependency of memoryd; install it outside the repository first:
//   npm install --prefix DIR pg-boss@10.4.2        (the version of the reference note)
//   PGBOSS_DIR=DIR node bench/pgboss_send.cjs URL [--in-flight 64] [--duration 10]
//                                             [--warmup 1] [--label key=value]...
// Starts pg-boss on URL (its own schema "pgboss", default pool of 10 connections), creates
// the queue "memoryd_bench", then keeps IN_FLIGHT send() calls going for WARMUP + DURATION
// seconds with a chat message as the job's data. Prints one JSON line:
// {"bench":"ingest_pg","config":"pgboss_send","jobs_per_s",..,"p50_ms","p99_ms",...}.
'use strict'
const path = require('node:path')

const dir = process.env.PGBOSS_DIR
if (!dir) {
  console.error('pgboss_send: set PGBOSS_DIR to the prefix pg-boss was installed into')
  process.exit(2)
}
const PgBoss = require(path.join(path.resolve(dir), 'node_modules', 'pg-boss'))

const args = process.argv.slice(2)
const url = args[0]
if (!url) {
  console.error('usage: node bench/pgboss_send.cjs URL [--in-flight N] [--duration S] [--warmup S] [--label k=v]...')
  process.exit(2)
}
let inFlight = 64
let duration = 10
let warmup = 1
const labels = {}
for (let i = 1; i < args.length; i += 2) {
  const v = args[i + 1]
  if (v === undefined) { console.error('pgboss_send: ' + args[i] + ' needs a value'); process.exit(2) }
  if (args[i] === '--in-flight') inFlight = Number(v)
  else if (args[i] === '--duration') duration = Number(v)
  else if (args[i] === '--warmup') warmup = Number(v)
  else if (args[i] === '--label') {
    const eq = v.indexOf('=')
    const val = v.slice(eq + 1)
    labels[v.slice(0, eq)] = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(val) ? Number(val) : val
  } else { console.error('pgboss_send: unknown argument ' + args[i]); process.exit(2) }
}
if (!(inFlight >= 1 && inFlight <= 1024 && duration > 0 && duration <= 3600 && warmup >= 0)) {
  console.error('pgboss_send: bad --in-flight, --duration or --warmup')
  process.exit(2)
}

async function main () {
  const boss = new PgBoss({ connectionString: url })
  boss.on('error', e => console.error('pgboss_send: ' + e.message))
  await boss.start()
  const queue = 'memoryd_bench'
  await boss.createQueue(queue)
  const start = process.hrtime.bigint()
  const ms = () => Number(process.hrtime.bigint() - start) / 1e6
  const from = warmup * 1000
  const until = (warmup + duration) * 1000
  const lat = []
  let errors = 0
  let n = 0
  async function sender (k) {
    while (ms() < until) {
      const t0 = ms()
      try {
        await boss.send(queue, {
          user_id: '+1555' + String(1000000 + ((n++ * 131 + k * 7) % 300)),
          role: 'user',
          content: 'I have a dog named Max and I am allergic to peanuts.'
        })
        const t1 = ms()
        if (t1 >= from && t1 < until) lat.push(t1 - t0)
      } catch (e) {
        if (++errors <= 3) console.error('pgboss_send: ' + e.message)
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, (_, k) => sender(k)))
  await boss.stop({ graceful: false, wait: true, timeout: 5000 })
  lat.sort((a, b) => a - b)
  const pct = q => lat.length ? lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(q * lat.length) - 1))] : 0
  const out = {
    bench: 'ingest_pg',
    config: 'pgboss_send',
    server: 'pg-boss ' + require(path.join(path.resolve(dir), 'node_modules', 'pg-boss', 'package.json')).version,
    in_flight: inFlight,
    seconds: duration,
    jobs: lat.length,
    errors,
    jobs_per_s: Math.round(lat.length / duration * 10) / 10,
    p50_ms: Math.round(pct(0.5) * 1000) / 1000,
    p99_ms: Math.round(pct(0.99) * 1000) / 1000,
    ...labels
  }
  console.log(JSON.stringify(out))
}

main().then(() => process.exit(0), e => { console.error('pgboss_send: ' + e.stack); process.exit(1) })
