// `drover agent`: flags → AgentConfig (parsed once), a runtime, and the node agent until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { AGENT_DEFAULTS, AgentConfigError, parseAgentConfig, startNodeAgent, type AgentConfig, type AgentFlags } from '../../agent/index.ts';
import { createDockerRuntime, dockerClient } from '../../agent/docker-runtime.ts';
import { createLeaseWriter, ensureWatchdog, runWatchdog } from '../../agent/docker/watchdog.ts';
import { createProcessRuntime } from '../../agent/process-runtime.ts';
import type { ContainerRuntime } from '../../agent/runtime.ts';
import { createLogger, type Logger } from '../../core/logging.ts';
import type { CommandEnv } from '../command-env.ts';
import { usageError } from '../cli-error.ts';
import { waitForSignal } from '../manager.ts';

function createRuntime(config: AgentConfig, logger: Logger): ContainerRuntime {
  if (config.runtime === 'docker') {
    return createDockerRuntime({
      nodeName: config.nodeName, dataDir: config.dataDir, logger: logger.child({ component: 'docker-runtime' }),
      dockerHost: config.docker.host, defaultNetwork: config.docker.network, nodeAddress: config.address,
    });
  }
  return createProcessRuntime({ dataDir: config.dataDir, logger: logger.child({ component: 'process-runtime' }), nodeAddress: config.address });
}

export function registerAgent(program: Command, env: CommandEnv): void {
  program
    .command('agent')
    .description('run a node agent: join a Cluster, run its containers and report back (outbound connections only)')
    .option('--join-token <token>', 'join token from `drover token create --join` (not needed once the data dir holds a credential)')
    .option('--name <node>', 'node name (default: the host name, lower-cased)')
    .option('--labels <k=v,...>', 'node labels, e.g. zone=eu-1,disk=ssd')
    .option('--runtime <runtime>', 'container runtime: process or docker', 'process')
    .option('--docker-host <url>', 'docker runtime: the engine, unix:///path/docker.sock or tcp://host:port (default $DOCKER_HOST, else /var/run/docker.sock)')
    .option('--no-watchdog', 'docker runtime: do not start the node watchdog that stops this node\'s movable containers and agents when the agent dies or hangs past the grace period')
    .option('--docker-network <mode>', 'docker runtime: network mode for containers whose spec names none (e.g. host; default: the engine\'s)')
    .option('--data-dir <dir>', 'where the credential, working directories and logs live', AGENT_DEFAULTS.dataDir)
    .option('--listen <host:port>', 'local /health, /agents, /metrics endpoint (port 0 = any free port)', AGENT_DEFAULTS.listen)
    .option('--address <ip>', 'address reported as the node\'s InternalIP', AGENT_DEFAULTS.address)
    .option('--capacity-containers <n>', 'most containers this node takes', String(AGENT_DEFAULTS.capacityContainers))
    .option('--capacity-agents <n>', 'most agents this node takes', String(AGENT_DEFAULTS.capacityAgents))
    .option('--task-lease <duration>', 'how long a claim on a running task lasts (renewed every third of it)', AGENT_DEFAULTS.taskLease)
    .option('--log-level <level>', 'error, warn, info or debug')
    .option('--ca-file <file>', 'https manager: PEM of the CA to trust, for a join token that pins no CA (the manager\'s <data-dir>/tls/ca.crt)')
    .addHelpText('after', '\nThe manager URL is the global --server flag, e.g. drover agent --server http://127.0.0.1:8000 --join-token drvj_…\n' +
      'With an https manager the join token pins its CA (drvj_<secret>.<sha256>): the agent checks it before sending the token and keeps the CA in <data-dir>/ca.crt.')
    .action(async (o: AgentFlags, cmd: Command) => {
      // --server is a global flag: commander hands it to the program, wherever it is written.
      const flags: AgentFlags = { ...o, server: o.server ?? env.globals(cmd).server };
      let config: AgentConfig;
      try {
        config = parseAgentConfig(flags, { cwd: env.io.cwd });
      } catch (e) {
        if (e instanceof AgentConfigError) throw usageError(e.message);
        throw e;
      }
      const logger = createLogger({ level: config.logLevel });
      const runtime = createRuntime(config, logger);
      let contactLease: ((ageMs: number, graceMs: number) => void) | undefined;
      if (config.runtime === 'docker' && config.watchdog) {
        // Docker containers outlive this process: a watchdog beside it fences the node if it dies or hangs.
        ensureWatchdog({ dataDir: config.dataDir, dockerHost: config.docker.host, cli: [process.execPath, ...process.execArgv, process.argv[1]], logger });
        contactLease = createLeaseWriter(config.dataDir, config.nodeName, logger);
      }
      const agent = await startNodeAgent(config, { runtime, logger, contactLease });
      const sig = await waitForSignal();
      logger.info('stopping the node agent', { signal: sig });
      // Docker containers outlive the agent (a restarted agent adopts them); processes stop with it.
      await agent.stop({ stopWorkloads: config.runtime !== 'docker' });
    });

  program
    .command('agent-watchdog', { hidden: true })
    .description('the docker runtime\'s node watchdog (started by `drover agent`): fences the node when the agent is dead or hung past the grace period')
    .requiredOption('--data-dir <dir>', 'the node agent\'s data dir')
    .option('--docker-host <url>', 'the engine')
    .action(async (o: { dataDir: string; dockerHost?: string }) => {
      const logger = createLogger({ level: 'info' }).child({ component: 'node-watchdog' });
      const reason = await runWatchdog({ dataDir: o.dataDir, docker: dockerClient(o.dockerHost), logger, stopped: waitForSignal() });
      logger.info('node watchdog stopped', { reason });
    });
}
