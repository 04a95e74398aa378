"""Configuration: one TOML file, overridable by environment and flags.

Precedence, lowest first: built-in defaults, ``<state_dir>/ownstack.toml``, environment
variables ``OWNSTACK_<SECTION>__<KEY>`` (for example ``OWNSTACK_IDENTITY__PORT=5001``),
then ``--set section.key=value`` flags. The result is an immutable :class:`Config` that is
passed into every app factory; nothing reads configuration from a global.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ownstack.common.booleans import parse_bool

DEFAULT_STATE_DIR = Path("/var/lib/ownstack")
CONFIG_FILE_NAME = "ownstack.toml"
ENV_PREFIX = "OWNSTACK_"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class CloudConfig:
    region: str = "RegionOne"
    # Address the API servers listen on. Loopback by default: nothing is exposed until asked.
    bind_host: str = "127.0.0.1"
    # Host name or address written into the service catalog; clients reach the APIs there.
    public_host: str = "127.0.0.1"


@dataclass(frozen=True)
class DatabaseConfig:
    # Empty means SQLite in the state directory. PostgreSQL and MariaDB URLs work too:
    # postgresql+asyncpg://user@host/db, mysql+aiomysql://user:pw@host/db
    url: str = ""
    echo: bool = False


@dataclass(frozen=True)
class LogConfig:
    level: str = "INFO"
    # Every API request is logged at INFO with its request id, status and duration.
    access_log: bool = True


@dataclass(frozen=True)
class SecurityComplianceConfig:
    """Keystone's [security_compliance] options, with its defaults (everything off)."""

    lockout_failure_attempts: int = 0          # 0 disables lockout
    lockout_duration: int = 1800               # seconds a locked user stays locked
    unique_last_password_count: int = 0        # 0 disables; N checks the last N passwords
    password_expires_days: int = 0             # 0 disables expiry
    minimum_password_age: int = 0              # days before a user may change again
    password_regex: str = ""                   # empty: any password accepted
    password_regex_description: str = ""


@dataclass(frozen=True)
class OAuth1Config:
    """Keystone's [oauth1] options, with its defaults; 0 means the token never expires."""

    request_token_duration: int = 28800        # seconds a request token waits to be authorized
    access_token_duration: int = 86400         # seconds an access token may get tokens

    def __post_init__(self) -> None:
        for name in ("request_token_duration", "access_token_duration"):
            if getattr(self, name) < 0:
                raise ConfigError(f"identity.oauth1.{name}: must be 0 (no expiry) or more "
                                  "seconds")


@dataclass(frozen=True)
class IdentityConfig:
    port: int = 5000
    token_expiration: int = 3600               # seconds
    allow_expired_window: int = 172800         # seconds, for ?allow_expired=1 validation
    bcrypt_rounds: int = 12
    max_active_keys: int = 3
    max_request_body_size: int = 114688        # bytes, Keystone's default
    token_cache_size: int = 10000              # validated tokens kept in memory
    security_compliance: SecurityComplianceConfig = field(
        default_factory=SecurityComplianceConfig)
    oauth1: OAuth1Config = field(default_factory=OAuth1Config)


@dataclass(frozen=True)
class ImageConfig:
    port: int = 9292
    store_dir: str = ""                        # empty: <state_dir>/images
    max_request_body_size: int = 65536         # JSON bodies; image data is streamed
    image_count_quota: int = 0                 # images per project; 0: unlimited
    image_size_quota_mb: int = 0               # total image bytes per project; 0: unlimited
    max_image_size_mb: int = 1048576           # largest single image (1 TiB)
    inspect_timeout: int = 30                  # seconds qemu-img info may run
    inspect_memory_mb: int = 1024              # address-space limit of qemu-img info
    token_cache_ttl: int = 30                  # seconds a validated token is trusted
    # Tasks (/v2/tasks): hours a finished task is kept (Glance's task_time_to_live).
    task_time_to_live: int = 48
    # Where an import task may fetch from (Glance's [import_filtering_opts], comma-separated).
    # Unlike Glance, no host is allowed until the operator lists it (decision 74): names,
    # IP addresses or networks (10.0.0.0/8). Empty ports: any port.
    import_allowed_schemes: str = "http,https"
    import_allowed_hosts: str = ""
    import_allowed_ports: str = "80,443"
    import_timeout: int = 600                  # seconds an import's download may take


@dataclass(frozen=True)
class PlacementConfig:
    port: int = 8778
    max_request_body_size: int = 1048576       # bytes; bulk allocations can be large
    token_cache_ttl: int = 30                  # seconds a validated token is trusted


@dataclass(frozen=True)
class NetworkQuotaConfig:
    """Neutron's default per-project quotas ([quotas] in neutron.conf); -1 is unlimited."""

    network: int = 100
    subnet: int = 100
    subnetpool: int = -1
    port: int = 500
    router: int = 10
    floatingip: int = 50
    security_group: int = 10
    security_group_rule: int = 100
    rbac_policy: int = 10


@dataclass(frozen=True)
class NetworkConfig:
    port: int = 9696
    max_request_body_size: int = 1048576       # bytes; bulk port creates can be large
    token_cache_ttl: int = 30                  # seconds a validated token is trusted
    # Tenant networks are VXLAN segments; each takes a VNI from this range (Neutron's
    # [ml2_type_vxlan] vni_ranges), so that several nodes can carry them later.
    vni_min: int = 1
    vni_max: int = 65535
    # The MTU of a tenant network: 1500 less VXLAN's 50 bytes (Neutron's global_physnet_mtu
    # of 1500 less the overlay's overhead); a flat (external) network gets 1500.
    physical_mtu: int = 1500
    max_dns_nameservers: int = 5               # per subnet, as Neutron's default
    max_subnet_host_routes: int = 20           # per subnet, as Neutron's default
    max_allowed_address_pairs: int = 10        # per port, as Neutron's default
    max_fixed_ips_per_port: int = 5            # as Neutron's default
    availability_zone: str = "nova"            # the zone of this process's network agent
    # The network agent's driver: "linux" (bridges, taps, VXLAN, namespaces, dnsmasq,
    # nftables; needs root), or "fake" (in memory, for tests and scale runs).
    driver: str = "linux"
    # The Linux driver's "host": the network namespace it makes its bridges and taps in
    # (a name under /run/netns or a path); empty: this machine's own namespace.
    host_namespace: str = ""
    # This node's address for VXLAN tunnels; empty: no VXLAN devices (single node).
    tunnel_address: str = ""
    # The host this process's network agent serves (ports bound to it are its); empty:
    # compute.host, else the machine's name, so that it matches the compute node's.
    host: str = ""
    report_interval: float = 30.0              # seconds between an agent's heartbeats
    agent_down_time: float = 75.0              # heartbeat age after which an agent is dead
    resync_interval: float = 30.0              # seconds between an agent's full resyncs
    # Which host bridge carries each physical network's flat networks (Neutron's
    # bridge_mappings): "physnet:bridge,physnet:bridge". `make up`'s external network
    # `public` is on br-ex.
    bridge_mappings: str = "public:br-ex"
    # The host-only external network `make up` creates (`ownstack seed`): a flat network
    # on this physical network, with this range; the host takes its first address on the
    # mapped bridge, and is the subnet's gateway, so floating IPs are reachable from the
    # host and from nothing beyond it.
    public_physnet: str = "public"
    public_cidr: str = "172.24.4.0/24"
    # Opt-in, never on in tests: the host interface through which the external network may
    # reach beyond the host (masqueraded). Empty: nothing routed from ownstack's bridges
    # leaves the host.
    external_uplink: str = ""
    quota: NetworkQuotaConfig = field(default_factory=NetworkQuotaConfig)

    @property
    def bridge_mapping(self) -> dict[str, str]:
        """:attr:`bridge_mappings` as a dict; :class:`ValueError` for a malformed entry."""
        mapping = {}
        for entry in filter(None, (e.strip() for e in self.bridge_mappings.split(","))):
            physnet, _, bridge = entry.partition(":")
            if not physnet or not bridge or len(bridge) > 15:
                raise ValueError(f"network.bridge_mappings: bad entry {entry!r} "
                                 "(physnet:bridge, a bridge name of 15 characters at most)")
            mapping[physnet.strip()] = bridge.strip()
        return mapping


@dataclass(frozen=True)
class BusConfig:
    # Empty (or memory://) is the in-process bus of the all-in-one cloud; an
    # amqp://user:password@host:5672/ URL uses RabbitMQ, for several machines.
    url: str = ""
    # Prefix of every queue and exchange on the broker; clouds sharing one broker differ.
    namespace: str = "ownstack"


@dataclass(frozen=True)
class QuotaConfig:
    """Nova's default per-project quotas ([quota] in nova.conf); -1 is unlimited."""

    instances: int = 10
    cores: int = 20
    ram: int = 51200                           # MiB
    key_pairs: int = 100                       # per user
    metadata_items: int = 128
    server_groups: int = 10
    server_group_members: int = 10
    injected_files: int = 5
    injected_file_content_bytes: int = 10240
    injected_file_path_bytes: int = 255


@dataclass(frozen=True)
class ComputeConfig:
    port: int = 8774
    # Nova's oslo.middleware default is 114688 bytes. 1 MiB instead: a server create may carry
    # 64 KiB of base64 user data plus metadata and tags, and an x509 keypair import a long
    # certificate chain; JSON escaping then overruns 112 KiB on legitimate requests.
    max_request_body_size: int = 1048576
    token_cache_ttl: int = 30                  # seconds a validated token is trusted
    driver: str = "qemu"                       # the hypervisor driver: qemu, or fake
    host: str = ""                             # this node's name; empty: the machine's name
    fake_nodes: int = 1                        # fake driver only: simulated nodes in-process
    fake_vcpus: int = 8                        # fake driver only: each node's size
    fake_memory_mb: int = 16384
    fake_disk_gb: int = 200
    fake_spawn_delay: float = 0.0              # fake driver only: seconds a spawn takes
    availability_zone: str = "nova"            # the zone of this process's compute nodes
    default_schedule_zone: str = ""            # zone for servers that ask for none
    cpu_allocation_ratio: float = 4.0          # Placement inventory ratios, Nova's defaults
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    reserved_host_disk_mb: int = 0
    reserved_host_cpus: int = 0
    resync_interval: float = 30.0              # seconds between an agent's full resyncs
    report_interval: float = 10.0              # seconds between an agent's heartbeats
    service_down_time: float = 60.0            # heartbeat age after which a service is down
    scheduler_max_attempts: int = 3            # hosts a boot may try before ERROR
    build_timeout: float = 600.0               # seconds a server may stay in BUILD
    shutdown_timeout: float = 60.0             # seconds of ACPI before a forced power off
    vif_plugging_timeout: float = 300.0        # seconds a boot waits for its ports; 0: none
    volume_detach_timeout: float = 20.0        # seconds a guest has to release a volume
    volume_detach_attempts: int = 8            # unplug requests before a detach fails
    image_cache_dir: str = ""                  # empty: <state_dir>/compute/images
    image_cache_max_age: int = 86400           # seconds an unused cached image is kept
    console_max_bytes: int = 1048576           # serial console log kept per server
    virt_type: str = "auto"                    # qemu driver: auto (KVM if it works), kvm, qemu
    qemu_binary: str = "qemu-system-x86_64"    # qemu driver: the emulator to run
    force_config_drive: bool = False           # qemu driver: a config drive for every server
    resize_confirm_window: float = 0.0         # seconds before a resize confirms itself; 0: never
    allow_resize_to_same_host: bool = True     # a resize may stay on the server's host
    shelved_offload_time: int = 0              # seconds a shelved server keeps its host; 0:
    #                                            offloaded at once, -1: never
    quota: QuotaConfig = field(default_factory=QuotaConfig)

    def fake_node_names(self, host: str) -> list[str]:
        """The simulated machines of the fake driver with ``fake_nodes`` > 1, named after
        ``host``: ``<host>-1`` … ``<host>-N``; else just ``host``. Compute runs an agent
        per name, and the fake network driver's agents serve the same names, so that a
        port bound to any of them is plugged."""
        if self.driver == "fake" and self.fake_nodes > 1:
            return [f"{host}-{i}" for i in range(1, self.fake_nodes + 1)]
        return [host]


@dataclass(frozen=True)
class VolumeQuotaConfig:
    """Cinder's default per-project quotas ([DEFAULT] quota_* in cinder.conf); -1 is
    unlimited."""

    volumes: int = 10
    snapshots: int = 10
    gigabytes: int = 1000                      # volumes' and snapshots' sizes together
    per_volume_gigabytes: int = -1             # the largest single volume
    # Cinder shows these in every quota set; ownstack has no backups yet, so nothing
    # counts against the first two (their usage is 0), but they are kept and shown.
    backups: int = 10
    backup_gigabytes: int = 1000
    groups: int = 10                           # generic volume groups (decision 71)


@dataclass(frozen=True)
class VolumeConfig:
    port: int = 8776
    max_request_body_size: int = 114688        # bytes, Cinder's osapi_max_request_body_size
    token_cache_ttl: int = 30                  # seconds a validated token is trusted
    # The volume agent's driver: "file" (qcow2 or raw files under volumes_dir, made and
    # copied with qemu-img), or "fake" (in memory, for tests and scale runs).
    driver: str = "file"
    # The host this process's volume agent serves; empty: compute.host, else the machine's
    # name, so that a volume and the guest it is attached to name the same host.
    host: str = ""
    availability_zone: str = "nova"            # the zone of this process's volume agent
    default_availability_zone: str = ""        # zone of volumes that ask for none; empty:
    #                                            any zone with a live volume agent
    default_volume_type: str = "__DEFAULT__"   # the type of volumes that name none
    volumes_dir: str = ""                      # file driver: empty: <state_dir>/volumes
    volume_format: str = "qcow2"               # file driver: qcow2 or raw
    report_interval: float = 10.0              # seconds between a volume agent's heartbeats
    service_down_time: float = 60.0            # heartbeat age after which a service is down
    resync_interval: float = 30.0              # seconds between an agent's full resyncs
    # Seconds a volume may stay attaching or detaching (the compute side's work between two
    # calls) before the volume service rolls it back.
    attach_timeout: float = 300.0
    # Seconds a volume or snapshot may stay creating, deleting, extending or uploading while
    # its host's volume agent is down, before it is put in error.
    task_timeout: float = 600.0
    copy_timeout: int = 3600                   # seconds one qemu-img convert may run
    inspect_timeout: int = 30                  # seconds qemu-img info may run on an image
    inspect_memory_mb: int = 1024              # address-space limit of that qemu-img info
    fake_capacity_gb: int = 1000               # fake driver only: the simulated backend
    message_ttl: int = 2592000                 # seconds a user message is kept (Cinder's)
    quota: VolumeQuotaConfig = field(default_factory=VolumeQuotaConfig)


@dataclass(frozen=True)
class MetadataConfig:
    """Nova's metadata service and the network side's metadata agent that reaches it."""

    port: int = 8775                           # the metadata service's port (not in the catalog)
    # Nova's and Neutron's metadata_proxy_shared_secret: the metadata agent signs each
    # instance id with it. Empty: <state_dir>/metadata-proxy-secret, made on first init.
    proxy_shared_secret: str = ""
    # Where the metadata agent sends guests' requests; empty: cloud.public_host and port.
    url: str = ""
    # Seconds an instance's documents are reused (Nova's metadata_cache_expiration); 0: never.
    cache_expiration: float = 15.0


@dataclass(frozen=True)
class ConsoleConfig:
    """Nova's [vnc], [serial_console], [console] and [consoleauth] options: the browser
    consoles and the websocket proxies in front of them (see ownstack/compute/consoleproxy)."""

    vnc_enabled: bool = True                   # [vnc] enabled: a VNC screen per guest
    serial_enabled: bool = True                # [serial_console] enabled: serial over websocket
    novncproxy_port: int = 6080                # [vnc] novncproxy_port
    serialproxy_port: int = 6083               # [serial_console] serialproxy_port
    # [vnc] novncproxy_base_url; empty: http://<cloud.public_host>:<port>/vnc_lite.html
    novncproxy_base_url: str = ""
    # [serial_console] base_url; empty: ws://<cloud.public_host>:<port>/
    serialproxy_base_url: str = ""
    token_ttl: int = 600                       # [consoleauth] token_ttl, seconds
    # [console] allowed_origins, comma-separated: Origin host names accepted beside the
    # proxy's own Host.
    allowed_origins: str = ""
    novnc_dir: str = "/usr/share/novnc"        # the noVNC web client (Debian package novnc)


@dataclass(frozen=True)
class Config:
    state_dir: Path = DEFAULT_STATE_DIR
    # What this process runs (see ownstack/roles.py): "api" (every API service), and the
    # workers "conductor", "compute" (the compute agent), "network" (the network agent)
    # and "volume" (the volume agent). The all-in-one cloud runs all.
    roles: str = "api,conductor,compute,network,volume"
    # True: a subset of roles may run on the in-process bus, the roles left out running
    # nowhere (an API without agents, as a Neutron deployment without them; benchmarks
    # compare that shape). False: such a subset is refused, since its roles would wait
    # for workers that never answer.
    roles_alone: bool = False
    policy_file: str = ""                      # oslo.policy-style YAML/JSON overrides
    cloud: CloudConfig = field(default_factory=CloudConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    log: LogConfig = field(default_factory=LogConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    placement: PlacementConfig = field(default_factory=PlacementConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    volume: VolumeConfig = field(default_factory=VolumeConfig)
    bus: BusConfig = field(default_factory=BusConfig)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.state_dir / 'ownstack.db'}"

    @property
    def config_file(self) -> Path:
        return self.state_dir / CONFIG_FILE_NAME

    def public_url(self, port: int, path: str = "") -> str:
        return f"http://{self.cloud.public_host}:{port}{path}"


def load_config(state_dir: Path | None = None, *, environ: Mapping[str, str] | None = None,
                overrides: Iterable[str] = ()) -> Config:
    """Build the effective configuration for ``state_dir``.

    ``overrides`` are ``section.key=value`` strings, as given by ``--set`` flags.
    """
    env = os.environ if environ is None else environ
    state = state_dir or Path(env.get(f"{ENV_PREFIX}STATE_DIR", DEFAULT_STATE_DIR))
    tree: dict[str, Any] = {}
    path = state / CONFIG_FILE_NAME
    if path.exists():
        try:
            tree = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    for name, value in env.items():
        if name.startswith(ENV_PREFIX) and "__" in name:
            dotted = name[len(ENV_PREFIX):].lower().replace("__", ".")
            _set_dotted(tree, dotted, value)
    for item in overrides:
        dotted, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects section.key=value, got {item!r}")
        _set_dotted(tree, dotted.strip(), value)
    _retire(tree)
    tree["state_dir"] = str(state)
    return _build(Config, tree, "")


# Options that were replaced, and the roles each one switched off when false. Config files
# written before the roles existed still load, and mean what they meant.
_RETIRED_ROLE_SWITCHES = {"conductor": "conductor", "agent": "compute"}


def _retire(tree: dict[str, Any]) -> None:
    compute = tree.get("compute")
    if not isinstance(compute, dict):
        return
    switched_off = []
    for option, role in _RETIRED_ROLE_SWITCHES.items():
        if option in compute:
            value = compute.pop(option)
            if parse_bool(value) is False:
                switched_off.append(role)
    if switched_off and "roles" not in tree:
        tree["roles"] = ",".join(r for r in Config.roles.split(",") if r not in switched_off)


def to_toml_tree(config: Config) -> dict[str, Any]:
    """The config as a plain dict, ready for tomli_w (Paths as strings)."""
    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Path):
            return str(value)
        return value
    tree: dict[str, Any] = convert(config)
    return tree


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{dotted}: {part} is not a section")
        node = child
    node[parts[-1]] = value


_T = typing.TypeVar("_T")


def _build(cls: type[_T], tree: Mapping[str, Any], where: str) -> _T:
    if not isinstance(tree, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a section")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(tree) - known)
    if unknown:
        raise ConfigError(f"unknown option {where}{unknown[0]}")
    kwargs: dict[str, Any] = {}
    for name, value in tree.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}{name}")
    return cls(**kwargs)


def _coerce(kind: Any, value: Any, where: str) -> Any:
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _build(kind, value, f"{where}.")
    if isinstance(kind, types.UnionType):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    try:
        if kind is bool:
            parsed = parse_bool(value)
            if parsed is None:
                raise ValueError(value)
            return parsed
        if kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind is Path:
            return Path(value)
        if kind is str:
            if not isinstance(value, str):
                raise ValueError(value)
            return value
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a valid {kind.__name__}") from None
    raise ConfigError(f"{where}: unsupported option type {kind!r}")
