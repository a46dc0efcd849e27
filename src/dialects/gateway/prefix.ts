export const GATEWAY_PREFIX = '/api/v1'
