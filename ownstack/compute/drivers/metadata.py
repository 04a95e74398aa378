"""The config drive's input: the driver's :class:`GuestSpec` as an
:class:`~ownstack.compute.metadata.instance.InstanceMetadata`, so that the config drive and
the metadata service build their documents with the same code
(:mod:`ownstack.compute.metadata.documents`).

The GuestSpec carries the instance's fields as the conductor sent them and its NICs from
the network info cache, with no subnets: the config drive describes each NIC as DHCP and
tells no addresses, as it always has (see the documents module).
"""

from __future__ import annotations

from datetime import datetime

from ownstack.compute.drivers.base import GuestSpec
from ownstack.compute.metadata import documents
from ownstack.compute.metadata.instance import InstanceMetadata, Nic


def instance_metadata(spec: GuestSpec) -> InstanceMetadata:
    return InstanceMetadata(
        uuid=spec.uuid, name=spec.name, hostname=spec.hostname, project_id=spec.project_id,
        availability_zone=spec.availability_zone, launch_index=spec.launch_index,
        key_name=spec.key_name, key_data=spec.key_data, user_data=spec.user_data,
        admin_pass=spec.admin_pass, metadata=dict(spec.metadata),
        nics=tuple(Nic(port_id=nic.port_id, mac=nic.mac, devname=nic.tap_name,
                       network_id=nic.network_id, mtu=nic.mtu) for nic in spec.nics))


def config_drive_files(spec: GuestSpec, *, now: datetime | None = None) -> dict[str, bytes]:
    """Every file of ``spec``'s config drive, path -> content."""
    return documents.config_drive_files(instance_metadata(spec), now=now)
