// jest loads this file as it is (no transform), hence CommonJS.
const fs = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;
const { extract, parse } = require('jest-docblock');

const exclusive = (t) => parse(extract(fs.readFileSync(t.path, 'utf8'))).stack === 'exclusive';
// Unit and workflow tests take no stack lock (test/lane-environment.ts is the integration
// project's environment only).
const lockFree = (t) => t.context.config.displayName?.name !== 'integration';

/**
 * jest's order (failed first, then slowest known, then largest), rearranged for the lanes (see
 * test/support/lanes.ts). The integration files that run alone (`@stack exclusive`) come first:
 * spread through the run, each would wait for the other lane to finish its file, that lane then
 * idle. After each of them comes a share of the tests that need no lock, so that while one lane
 * runs an exclusive file the other works through those instead of waiting for the next one.
 */
class LaneSequencer extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    // Each file's docblock read once.
    const isAlone = new Set(ordered.filter(exclusive));
    const alone = ordered.filter((t) => isAlone.has(t));
    const free = ordered.filter(lockFree);
    const rest = ordered.filter((t) => !isAlone.has(t) && !lockFree(t));
    if (alone.length === 0) return ordered;
    const shares = alone.map((t, i) => [t, ...free.filter((_, j) => j % alone.length === i)]);
    return [...shares.flat(), ...rest];
  }
}

module.exports = LaneSequencer;
