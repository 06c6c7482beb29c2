import type { Scenario } from '../context.js';

export const bare: Scenario = {
  name: 'bare-fastify',
  description: 'Bare Fastify route, one Redis GET (the baseline)',
  target: 'bare',
  requests: () => [{ method: 'GET', path: '/bare' }],
};
