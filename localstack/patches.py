"""Where moto fails a call AWS answers, fixed in place (applied once at start):

- ECS DescribeCapacityProviders without names lists every capacity provider, as AWS does
  (moto raises TypeError).
"""

from moto.ecs.models import EC2ContainerServiceBackend

_describe_capacity_providers = EC2ContainerServiceBackend.describe_capacity_providers


def _describe_all_capacity_providers(self, names):
    if names is None:
        names = list(self.capacity_providers.keys())
    return _describe_capacity_providers(self, names)


def apply():
    EC2ContainerServiceBackend.describe_capacity_providers = _describe_all_capacity_providers
