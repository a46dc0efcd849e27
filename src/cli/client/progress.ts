/** A progress bar on stderr when it is a terminal; nothing otherwise (scripts read stdout). */
import { bytes } from './output.js'

export class ProgressBar {
  private last = 0
  private readonly started = Date.now()
  private drawn = false
  constructor (private readonly label: string, private readonly enabled: boolean) {}

  static for (label: string, quiet: boolean): ProgressBar {
    return new ProgressBar(label, !quiet && process.stderr.isTTY === true)
  }

  update (loaded: number, total?: number | null): void {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.last < 100 && (total === undefined || total === null || loaded < total)) return
    this.last = now
    const cols = Math.max(40, process.stderr.columns || 80)
    const secs = Math.max(0.001, (now - this.started) / 1000)
    const rate = `${bytes(loaded / secs)}/s`
    const label = this.label.length > 24 ? '…' + this.label.slice(-23) : this.label.padEnd(24)
    let line: string
    if (total !== undefined && total !== null && total > 0) {
      const frac = Math.min(1, loaded / total)
      const tail = ` ${(frac * 100).toFixed(0).padStart(3)}% ${bytes(loaded)}/${bytes(total)} ${rate}`
      const width = Math.max(10, cols - label.length - tail.length - 4)
      const fill = Math.round(frac * width)
      line = `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}]${tail}`
    } else {
      line = `${label} ${bytes(loaded)} ${rate}`
    }
    process.stderr.write(`\r${line.slice(0, cols - 1)}\x1b[K`)
    this.drawn = true
  }

  /** clear the bar (the result is printed on stdout) */
  done (): void {
    if (this.enabled && this.drawn) process.stderr.write('\r\x1b[K')
    this.drawn = false
  }
}
