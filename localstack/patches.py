"""Where moto fails a call AWS answers, fixed in place (applied once at start):

- ECS DescribeCapacityProviders without names lists every capacity provider, as AWS does
  (moto raises TypeError).

And where moto's account is newer than some real ones: ap-northeast-1 also has the zone
`ap-northeast-1b` (apne1-az3), which older accounts see and where Fargate does not run.
"""

from moto.ecs.models import EC2ContainerServiceBackend

_describe_capacity_providers = EC2ContainerServiceBackend.describe_capacity_providers


def _describe_all_capacity_providers(self, names):
    if names is None:
        names = list(self.capacity_providers.keys())
    return _describe_capacity_providers(self, names)


def _older_account_zones():
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend, Zone

    zones = RegionsAndZonesBackend.zones["ap-northeast-1"]
    if not any(z.zone_id == "apne1-az3" for z in zones):
        zones.insert(1, Zone(region_name="ap-northeast-1", name="ap-northeast-1b", zone_id="apne1-az3"))


def apply():
    _older_account_zones()
    EC2ContainerServiceBackend.describe_capacity_providers = _describe_all_capacity_providers
