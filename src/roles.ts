/** The parts a beltline process can run; `beltline start --role` takes these (or all). */
export type Role = 'collector' | 'bridge' | 'worker';
export const ROLES: readonly Role[] = ['collector', 'bridge', 'worker'];
