/**
 * How the notifier reads ban records from table items: the ban store's own mapping (banFromItem),
 * plus the markers the store writes when a ban is lifted — `status: "released"` with `releasedAt`
 * (operator unban) or `expired: true` with `status: "expired"` (the enforcer's sweep).
 */
import { banFromItem } from '../adapters/dynamodb-ban-store.js';
import type { BanItemCodec } from './notifier.js';

export const banItemCodec: BanItemCodec = {
  toBan: banFromItem,
  isLifted: (item) => item['expired'] === true || typeof item['releasedAt'] === 'number',
};
