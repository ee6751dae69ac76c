"""The load balancer as AWS has it and moto does not:

- An Application Load Balancer holds a network interface in each of its subnets, with its
  security groups, until `release_delay` seconds after it is deleted: its subnets and
  group cannot be deleted under it (the strict rules count interfaces).
- A service's tasks register as targets of its target groups when they start (their
  interface's IP, or their instance and a dynamic host port) and deregister when they
  stop. DescribeTargetHealth answers `initial` (Elb.RegistrationInProgress) for
  `health_delay` seconds after registration, then `healthy`; a task of an image whose name
  contains `unhealthy` fails its health checks (Target.FailedHealthChecks).

Configure with POST /_provision/elb {"health_delay": 1.0, "release_delay": 1.0}.
"""

import os
import re
import time

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

UNHEALTHY_IMAGE = "unhealthy"

# The simulator in this process, for the task simulator (targets come and go with tasks).
CURRENT = None


class Elb:
    def __init__(self):
        self.health_delay = float(os.environ.get("PROVISION_ELB_HEALTH_DELAY", "1"))
        self.release_delay = float(os.environ.get("PROVISION_ELB_RELEASE_DELAY", "1"))
        self.interfaces = {}  # load balancer ARN -> [(region, ENI id)]
        self.releasing = []  # (when, region, ENI id)
        self.targets = {}  # (target group ARN, target id) -> {"since": …, "unhealthy": bool}
        global CURRENT
        CURRENT = self

    def configure(self, settings):
        self.health_delay = float(settings.get("health_delay", self.health_delay))
        self.release_delay = float(settings.get("release_delay", self.release_delay))
        return {"health_delay": self.health_delay, "release_delay": self.release_delay}

    @staticmethod
    def _ec2(region):
        from moto.ec2.models import ec2_backends

        return ec2_backends[ACCOUNT][region]

    @staticmethod
    def _elbv2(region):
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[ACCOUNT][region]

    def after(self, action, region, p, data):
        """Interfaces made with the load balancer, and released some time after it."""
        if action == "CreateLoadBalancer":
            self._hold(region, p, data)
        elif action == "DeleteLoadBalancer":
            arn = p.get("LoadBalancerArn")
            release = time.time() + self.release_delay
            self.releasing += [(release, r, eni) for r, eni in self.interfaces.pop(arn, [])]
        return data

    def _hold(self, region, p, data):
        text = data.decode("utf-8", "replace")
        arn = re.search(r"<LoadBalancerArn>([^<]+)</LoadBalancerArn>", text)
        if not arn:
            return
        arn = arn.group(1)
        name = arn.split(":loadbalancer/", 1)[-1]
        subnets = [v for k, v in sorted(p.items()) if k.startswith("Subnets.member.")]
        groups = [v for k, v in sorted(p.items()) if k.startswith("SecurityGroups.member.")]
        b = self._ec2(region)
        held = []
        for sn in subnets:
            ni = b.create_network_interface(b.get_subnet(sn), None, group_ids=groups, description=f"ELB {name}")
            held.append((region, ni.id))
        self.interfaces[arn] = held

    def tick(self):
        now = time.time()
        due = [x for x in self.releasing if x[0] <= now]
        for _, region, eni in due:
            try:
                self._ec2(region).delete_network_interface(eni)
            except Exception:  # noqa: BLE001 - already gone with its subnet
                pass
        self.releasing = [x for x in self.releasing if x not in due]

    def register(self, region, group_arn, target_id, port, image):
        """A task's target, registered as ECS registers it."""
        b = self._elbv2(region)
        if group_arn not in b.target_groups:
            return
        b.register_targets(group_arn, [{"Id": target_id, "Port": port}])
        self.targets[(group_arn, target_id)] = {"since": time.time(), "unhealthy": UNHEALTHY_IMAGE in (image or "")}

    def deregister(self, region, group_arn, target_id):
        b = self._elbv2(region)
        self.targets.pop((group_arn, target_id), None)
        tg = b.target_groups.get(group_arn)
        if tg is not None:
            tg.targets.pop(target_id, None)

    def status(self, group_arn, target_id):
        """(state, reason, description) the simulation gives a healthy target, or None."""
        seen = self.targets.get((group_arn, target_id))
        if seen is None:
            return None
        if seen["unhealthy"]:
            return ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
        if time.time() - seen["since"] < self.health_delay:
            return ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
        return None


def apply():
    """moto answers every registered target healthy: the simulation's state comes first."""
    from moto.elbv2.models import FakeTargetGroup

    original = FakeTargetGroup.health_for

    def health_for(self, target, ec2_backend):
        status = original(self, target, ec2_backend)
        simulated = CURRENT.status(self.arn, target["Id"]) if CURRENT else None
        if simulated and status.status == "healthy":
            status.status, status.reason, status.description = simulated
        return status

    FakeTargetGroup.health_for = health_for
