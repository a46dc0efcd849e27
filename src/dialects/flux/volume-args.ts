/** The app a volume call names, resolved to its owning account (the caller, or any for the admin). */
import type { FastifyRequest } from 'fastify'
import type { Account } from '../../core/accounts.js'
import type { Core } from '../../core/core.js'
import { appName, volumeSpace } from '../../core/app-volumes.js'
import { requireArg } from './args.js'
import { requireWallet } from './auth.js'

export interface AppTarget { owner: Account, app: string }
export interface VolumeTarget extends AppTarget { component: string, space: string }

export async function appTarget (core: Core, req: FastifyRequest, claim: boolean): Promise<AppTarget> {
  const w = requireWallet(req)
  const app = appName(requireArg(req, 'appname'))
  return { owner: await core.appVolumes.owner(app, w, claim), app }
}

export async function volumeTarget (core: Core, req: FastifyRequest, claim: boolean): Promise<VolumeTarget> {
  const t = await appTarget(core, req, claim)
  const component = appName(requireArg(req, 'component'), 'component')
  return { ...t, component, space: volumeSpace(t.app, component) }
}
