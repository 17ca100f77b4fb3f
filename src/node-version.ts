/**
 * Refuses an unsupported Node before anything else runs: each entry imports this module first, and ESM
 * evaluates a module's imports in order, so it runs before undici or Bolt are evaluated (on Node 20,
 * undici 8 dies with "Cannot read properties of undefined (reading 'bind')"). undici 8 needs Node 22.19
 * or later (its package.json "engines": https://github.com/nodejs/undici/blob/main/package.json); Bolt 5
 * needs 20. Only the maintained LTS lines are supported: 22 (from 22.19) and 24 and later.
 */
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (!(major >= 24 || (major === 22 && minor >= 19))) {
  const [need, have] = major === 22 ? ["22.19 or later", process.versions.node] : ["22.x", `${major}.x`];
  process.stderr.write(`Node 24 (or ${need}) is required; you have ${have}; see README 'Node'.\n`);
  process.exit(1);
}

export {};
