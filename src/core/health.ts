/**
 * Health of each dependency a node uses, for `/healthz`: a load balancer takes a node out when
 * any of them fails, and an operator sees which. Each check is bounded so that a hung
 * dependency reports as down instead of hanging the probe.
 */
export interface DependencyHealth { ok: boolean, kind: string, error?: string, ms: number }
export interface HealthReport { ok: boolean, dependencies: Record<string, DependencyHealth> }

export type HealthCheck = { kind: string, check: () => Promise<void> }

const TIMEOUT_MS = 3000

async function probe (c: HealthCheck): Promise<DependencyHealth> {
  const t0 = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      c.check(),
      new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`no answer within ${TIMEOUT_MS} ms`)) }, TIMEOUT_MS) })
    ])
    return { ok: true, kind: c.kind, ms: Math.round(performance.now() - t0) }
  } catch (err) {
    return { ok: false, kind: c.kind, error: (err as Error).message, ms: Math.round(performance.now() - t0) }
  } finally {
    clearTimeout(timer)
  }
}

export async function checkHealth (checks: Record<string, HealthCheck>): Promise<HealthReport> {
  const names = Object.keys(checks)
  const results = await Promise.all(names.map(async n => await probe(checks[n])))
  const dependencies = Object.fromEntries(names.map((n, i) => [n, results[i]]))
  return { ok: results.every(r => r.ok), dependencies }
}
