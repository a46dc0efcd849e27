import type { Core } from '../../core/core.js'
import type { Metrics } from '../../http/metrics.js'
import type { Principal } from '../../core/accounts.js'
import type { FastifyRequest } from 'fastify'
import { CairnError } from '../../core/errors.js'
import { FILES_SPACE } from '../../core/drive.js'

export interface FluxdriveDeps {
  core: Core
  metrics: Metrics
}

/** The authenticated principal, set by the dialect's onRequest hook. */
export function principalOf (req: FastifyRequest): Principal {
  const p = (req as FastifyRequest & { principal?: Principal }).principal
  if (p === undefined) throw new CairnError('unauthenticated', 'Invalid credentials')
  return p
}

/** the space that holds an account's FluxDrive files (the gateway API's too) */
export const DRIVE_SPACE = FILES_SPACE
