import { describe, it } from 'vitest';
import { CARD_TOLERANCE, checkCardMetrics } from './metrics-check';

describe('hvae-mnist', () => {
  it(`loads in Node and re-measures its card's metrics within ${100 * CARD_TOLERANCE}%`, async () => {
    await checkCardMetrics('hvae-mnist');
  });
});
