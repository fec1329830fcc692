// Ours against the peer, side by side (issue 7): reads the JSON report of
// `jishi-load run --json` and that of drive.mjs, prints one table with the
// ratio ours / peer.
//
//   node compare.mjs OURS.json PEER.json

import fs from "node:fs"

const [oursFile, peerFile] = process.argv.slice(2)
if (!oursFile || !peerFile) {
  console.error("usage: node compare.mjs OURS.json PEER.json")
  process.exit(2)
}
const ours = JSON.parse(fs.readFileSync(oursFile, "utf8"))
const peer = JSON.parse(fs.readFileSync(peerFile, "utf8"))

const cpuPerDocMs = r =>
  r.server?.cpu_secs_sync == null ? null : (1000 * r.server.cpu_secs_sync) / Math.max(r.sync.documents, 1)
const errorCount = r => Object.values(r.errors ?? {}).reduce((n, e) => n + e.count, 0)
const MiB = 1048576
// [label, value, unit, decimals]
const rows = [
  ["documents acknowledged", r => r.sync.documents, "", 0],
  ["documents/s (sync phase)", r => r.sync.documents_per_sec, "", 0],
  ["sync phase wall time", r => r.sync.secs, "s", 1],
  ["server CPU in the sync phase", r => r.server?.cpu_secs_sync, "s", 1],
  ["server CPU per document", cpuPerDocMs, "ms", 2],
  ["server peak RSS (VmHWM, whole life)", r => r.server?.peak_rss_bytes / MiB, "MiB", 0],
  ["server RSS before the sync phase", r => r.server?.rss_before_sync_bytes / MiB, "MiB", 0],
  ["server RSS, max during the sync phase", r => r.server?.rss_max_during_sync_bytes / MiB, "MiB", 0],
  ["load tool CPU in the sync phase", r => r.sync.load_cpu_secs, "s", 1],
  ["bytes up per document", r => r.sync.bytes_up_per_doc, "B", 0],
  ["bytes down per document", r => r.sync.bytes_down_per_doc, "B", 0],
  ["sync latency p50 (ours: request; peer: cadre)", r => r.sync.latency_ms.p50, "ms", 0],
  ["sync latency p99", r => r.sync.latency_ms.p99, "ms", 0],
  ["errors", errorCount, "", 0],
]

const show = (v, unit, decimals) =>
  v == null || Number.isNaN(v) ? "-" : `${v.toLocaleString("en-US", { maximumFractionDigits: decimals, minimumFractionDigits: decimals })}${unit ? " " + unit : ""}`
const table = [["", `ours (${ours.label})`, `peer (${peer.label})`, "ours / peer"]]
for (const [label, get, unit, decimals] of rows) {
  const a = get(ours)
  const b = get(peer)
  const ratio = a == null || b == null || !b || Number.isNaN(a) || Number.isNaN(b) ? "-" : `${(a / b).toFixed(2)}x`
  table.push([label, show(a, unit, decimals), show(b, unit, decimals), ratio])
}
const widths = table[0].map((_, i) => Math.max(...table.map(r => r[i].length)))
console.log(
  `== ours vs peer: ${ours.cadres} cadres, concurrency ${ours.concurrency} / ${peer.concurrency}, ` +
    `${ours.sync.documents} / ${peer.sync.documents} documents ==`,
)
for (const r of table) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "))
console.log("ours / peer: above 1 on documents/s means ours is faster; below 1 on CPU, memory and bytes means ours uses less")
console.log(`peer client: node ${peer.peer?.node}, automerge-repo ${peer.peer?.["@automerge/automerge-repo"]}, automerge ${peer.peer?.["@automerge/automerge"]}`)
console.log(`peer "acknowledged": ${peer.peer?.acknowledged}`)
console.log(`load average before: ours ${ours.host?.loadavg_before}, peer ${peer.host?.loadavg_before}`)
