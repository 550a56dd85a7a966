#!/usr/bin/env node
// The leechguard CLI. Node 24 runs the TypeScript sources directly (type stripping).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `leechguard needs Node.js 24 (found ${process.version}). Run \`bash scripts/setup.sh\` then use \`npm run leechguard --\` (npm scripts run the Node 24 it installs) or put node_modules/.bin first on PATH.\n`,
  );
  process.exit(2);
}
// leechguard keys every record itself (account / token hash) with kafkajs's Java-compatible
// default partitioner, so co-partitioned topics line up; its notice about that default is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
const { run } = await import('../cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
