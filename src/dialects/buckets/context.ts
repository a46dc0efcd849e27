import type { FastifyRequest } from 'fastify'
import type { Principal } from '../../core/accounts.js'
import type { Core } from '../../core/core.js'
import { CairnError } from '../../core/errors.js'
import type { SessionPrincipal } from '../../core/upload-sessions.js'
import type { Metrics } from '../../http/metrics.js'

export interface BucketsDeps {
  core: Core
  metrics: Metrics
}

/** which credential a route takes (route config `auth`) */
export type AuthKind = 'key' | 'session' | 'none'

type Authed = FastifyRequest & { keyPrincipal?: Principal, sessionPrincipal?: SessionPrincipal }

export function keyOf (req: FastifyRequest): Principal {
  const p = (req as Authed).keyPrincipal
  if (p === undefined) throw new CairnError('unauthenticated', 'An API key is required (X-API-KEY)')
  return p
}

export function sessionOf (req: FastifyRequest): SessionPrincipal {
  const p = (req as Authed).sessionPrincipal
  if (p === undefined) throw new CairnError('unauthenticated', 'A session token is required (Authorization: Bearer)')
  return p
}

export function setKey (req: FastifyRequest, p: Principal): void { (req as Authed).keyPrincipal = p }
export function setSession (req: FastifyRequest, p: SessionPrincipal): void { (req as Authed).sessionPrincipal = p }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the Upload API's credential for this route */
    auth?: AuthKind
  }
}
