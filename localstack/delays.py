"""AWS's delays, shortened. Each is a window in seconds; 0 turns it off.

- iam_window: ECS cannot assume a new IAM role yet (CreateService refused).
- rds_creating: an RDS instance is `creating`, with no endpoint, before it is available.
- ec2_eventual: a call that follows the create of a VPC, subnet, internet gateway, route
  table or security group answers NotFound ("Eventual consistency in the Amazon EC2 API").
- ecs_slr_window: in a fresh account, ECS's service-linked role exists only this long after
  the first cluster; CreateService is refused until then.
- profile_window: a new instance profile is not usable yet: CreateAutoScalingGroup with a
  launch template naming it answers "Invalid IAM Instance Profile ARN".
- capacity_provider_window: a new capacity provider is PROVISIONING, not ACTIVE, and
  PutClusterCapacityProviders refuses it.
- rds_backing_up: after `creating`, the instance is `backing-up` (its first backup); RDS
  takes no final snapshot and makes no modification until it is `available`.
- rds_modifying: after ModifyDBInstance, the instance is `modifying` with the change pending.
- secret_window: tasks whose containers read secrets stop with ResourceInitializationError
  while their execution role's inline policy is younger than this (IAM spreading it).

Always, as AWS does: an engine version asked as "8.0" runs as the region's default minor
version ("8.0.39"), and a modification back to "8.0" is refused as a downgrade.

Configure with POST /_provision/delays {"iam_window": 3, ...}, or at start with the same
names in capitals prefixed PROVISION_ (PROVISION_IAM_WINDOW ...). {"fresh_account": true}
(or PROVISION_FRESH_ACCOUNT=1) sets every window to a few seconds: a new account as a first
run meets it. {"defaults": true} goes back to the windows the emulator started with.
"""

import json
import os
import re
import threading
import time

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.core.exceptions import ServiceException
from werkzeug.exceptions import HTTPException

# What moto raises for an AWS error (not-found, invalid): expected, unlike a bug.
MOTO_ERRORS = (ServiceException, HTTPException)


# Each window, and its default (seconds).
DEFAULTS = {
    "iam_window": 0.0,
    "rds_creating": 1.0,
    "ec2_eventual": 0.0,
    "ecs_slr_window": 0.0,
    "profile_window": 0.0,
    "capacity_provider_window": 0.0,
    "rds_backing_up": 0.0,
    "rds_modifying": 0.0,
    "secret_window": 0.0,
}

# A fresh account: every delay a first run meets, shortened to seconds.
FRESH_ACCOUNT = {
    "iam_window": 2.0,
    "rds_creating": 1.0,
    "ec2_eventual": 1.0,
    "ecs_slr_window": 2.0,
    "profile_window": 6.0,
    "capacity_provider_window": 1.5,
    "rds_backing_up": 2.0,
    "rds_modifying": 1.5,
    "secret_window": 6.0,
}

# The minor version AWS runs when asked for a major one ("8.0" -> "8.0.39").
DEFAULT_MINOR = "39"


class Delays:
    def __init__(self):
        self.lock = threading.Lock()
        self.w = {k: float(os.environ.get(f"PROVISION_{k.upper()}", v)) for k, v in DEFAULTS.items()}
        if os.environ.get("PROVISION_FRESH_ACCOUNT") == "1":
            self.w.update(FRESH_ACCOUNT)
        self.initial = dict(self.w)
        self.ec2_created = {}  # EC2 id -> when it was created
        self.first_cluster = None  # when the account's first cluster was made
        self.roles = {}  # role name -> when it was created
        self.policies = {}  # role name -> when its inline policy was last put
        self.profiles = {}  # instance profile name -> when it was made or given its role
        self.capacity_providers = {}  # name -> when it was created
        self.databases = {}  # DB identifier -> when it was created
        self.modified = {}  # DB identifier -> (when, {pending field: value})

    def __getattr__(self, name):
        if name in DEFAULTS:
            return self.w[name]
        raise AttributeError(name)

    def configure(self, settings):
        with self.lock:
            if settings.get("defaults"):
                self.w = dict(self.initial)
            if settings.get("fresh_account"):
                self.w.update(FRESH_ACCOUNT)
            for k in DEFAULTS:
                if k in settings:
                    self.w[k] = float(settings[k])
            if "ecs_slr_window" in settings or settings.get("fresh_account"):
                # The account is fresh from now on: no cluster was made in it yet.
                self.first_cluster = None
            return dict(self.w)

    def _young(self, made, window):
        return made is not None and time.time() - made < window

    def record(self, service, action, p):
        now = time.time()
        with self.lock:
            if (service, action) == ("ecs", "CreateCluster") and self.first_cluster is None:
                self.first_cluster = now
            elif (service, action) == ("ecs", "CreateCapacityProvider"):
                self.capacity_providers[p.get("name")] = now
            elif (service, action) == ("iam", "CreateRole"):
                self.roles[p.get("RoleName")] = now
            elif (service, action) == ("iam", "PutRolePolicy"):
                self.policies[p.get("RoleName")] = now
            elif (service, action) in (("iam", "CreateInstanceProfile"), ("iam", "AddRoleToInstanceProfile")):
                self.profiles[p.get("InstanceProfileName")] = now
            elif (service, action) == ("rds", "CreateDBInstance"):
                self.databases[(p.get("DBInstanceIdentifier") or "").lower()] = now
            elif (service, action) == ("rds", "ModifyDBInstance"):
                pending = {k: p[k] for k in ("DBInstanceClass", "AllocatedStorage", "EngineVersion", "BackupRetentionPeriod") if k in p}
                self.modified[(p.get("DBInstanceIdentifier") or "").lower()] = (now, pending)

    def check(self, service, action, p, region):
        """AWS's refusal of what a delay makes not ready yet, or None."""
        if service == "ec2":
            return self._not_visible_yet(action, p)
        if (service, action) == ("autoscaling", "CreateAutoScalingGroup"):
            return self._profile_not_usable(p, region)
        if (service, action) == ("ecs", "PutClusterCapacityProviders"):
            for name in p.get("capacityProviders") or []:
                if self._young(self.capacity_providers.get(name), self.capacity_provider_window):
                    return (
                        "InvalidParameterException",
                        f"The specified capacity provider '{name}' is not in an ACTIVE state. "
                        "Specify a capacity provider in an ACTIVE state and try again.",
                        400,
                    )
            return None
        if service == "rds" and action in ("DeleteDBInstance", "ModifyDBInstance"):
            return self._rds_busy(action, p, region)
        if (service, action) == ("ecs", "CreateService") and self.ecs_slr_window:
            made = self.first_cluster
            if made is None or time.time() - made < self.ecs_slr_window:
                return (
                    "InvalidParameterException",
                    "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
                    400,
                )
        if (service, action) != ("ecs", "CreateService") or not self.iam_window:
            return None
        try:
            from moto.ecs.models import ecs_backends

            td = ecs_backends[ACCOUNT][region].describe_task_definition(p.get("taskDefinition"))
            role_arn = td.execution_role_arn or ""
        except MOTO_ERRORS:
            return None  # no such task definition: moto answers that itself
        created = self.roles.get(role_arn.rsplit("/", 1)[-1])
        if created is not None and time.time() - created < self.iam_window:
            return (
                "InvalidParameterException",
                f"ECS was unable to assume the role '{role_arn}' that was provided for this task. "
                "Please verify that the role being passed has the proper trust relationship and permissions "
                "and that your IAM user has permissions to pass this role.",
                400,
            )
        return None

    def secret_refusal(self, region, task_definition):
        """Why tasks of this task definition cannot initialize yet: their containers read
        secrets and IAM has not spread the execution role's new policy. None when they can."""
        if not self.secret_window or not task_definition:
            return None
        from moto.ecs.models import ecs_backends

        try:
            td = ecs_backends[ACCOUNT][region].describe_task_definition(task_definition)
        except MOTO_ERRORS:
            return None
        secrets = [x.get("valueFrom", "") for c in td.container_definitions for x in c.get("secrets") or []]
        role = (td.execution_role_arn or "").rsplit("/", 1)[-1]
        if not secrets or not self._young(self.policies.get(role), self.secret_window):
            return None
        return (
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
            "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
            f"AccessDeniedException: User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/task is not authorized "
            f"to perform: secretsmanager:GetSecretValue on resource: {secrets[0]}"
        )

    def _profile_not_usable(self, p, region):
        """The launch template's instance profile, when IAM has not spread it yet."""
        if not self.profile_window:
            return None
        from moto.ec2.models import ec2_backends

        b = ec2_backends[ACCOUNT][region]
        lt_id, lt_name = p.get("LaunchTemplate.LaunchTemplateId"), p.get("LaunchTemplate.LaunchTemplateName")
        lt = b.launch_templates.get(lt_id) if lt_id else next(
            (t for t in b.launch_templates.values() if t.name == lt_name), None
        )
        if lt is None:
            return None  # moto answers a missing template itself
        m = re.search(r"instance-profile/(?:[^'\"]*/)?([\w+=,.@-]+)", str(lt.default_version().data))
        if m is None or not self._young(self.profiles.get(m.group(1)), self.profile_window):
            return None
        arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/{m.group(1)}"
        return (
            "ValidationError",
            f"You must use a valid fully-formed launch template. Value ({arn}) for parameter "
            "iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN",
            400,
        )

    def _rds_status(self, ident):
        """The status a delay gives an instance, or None for moto's own."""
        ident = ident.lower()
        made = self.databases.get(ident)
        if self._young(made, self.rds_creating):
            return "creating"
        if self._young(made, self.rds_creating + self.rds_backing_up):
            return "backing-up"
        when, _ = self.modified.get(ident, (None, None))
        if self._young(when, self.rds_modifying):
            return "modifying"
        return None

    def _rds_busy(self, action, p, region):
        ident = p.get("DBInstanceIdentifier") or ""
        status = self._rds_status(ident)
        if action == "DeleteDBInstance":
            snapshot = p.get("FinalDBSnapshotIdentifier") and p.get("SkipFinalSnapshot", "false") != "true"
            if snapshot and status is not None:
                return (
                    "InvalidDBInstanceState",
                    f"Instance {ident} is currently {status} - a final snapshot cannot be taken.",
                    400,
                )
            return None
        if status is not None:
            return ("InvalidDBInstanceState", f"Database instance is not in available state (it is {status}).", 400)
        asked = p.get("EngineVersion")
        running = self._running_version(ident, region)
        if asked and running and running != asked and running.startswith(asked + "."):
            return (
                "InvalidParameterCombination",
                f"Cannot upgrade {self._engine(ident, region)} from {running} to {asked}",
                400,
            )
        return None

    def _instance(self, ident, region):
        from moto.rds.models import rds_backends

        return rds_backends[ACCOUNT][region].databases.get(ident.lower())

    def _engine(self, ident, region):
        db = self._instance(ident, region)
        return getattr(db, "engine", "") if db else ""

    def _running_version(self, ident, region):
        db = self._instance(ident, region)
        return _full_version(str(getattr(db, "engine_version", "") or "")) if db else None

    def _not_visible_yet(self, action, p):
        follow = FOLLOW_UPS.get(action)
        if follow is None or not self.ec2_eventual:
            return None
        param, code, noun = follow
        rid = p.get(param)
        created = self.ec2_created.get(rid)
        if created is not None and time.time() - created < self.ec2_eventual:
            return (code, f"The {noun} '{rid}' does not exist", 400)
        return None

    def rewrite(self, service, action, data):
        """Answers as the delays have them: young RDS instances creating, backing up or
        modifying; young capacity providers PROVISIONING; EC2 ids noted as they are made."""
        if service == "ec2" and action in CREATES:
            m = re.search(CREATES[action], data.decode("utf-8", "replace"))
            if m:
                with self.lock:
                    self.ec2_created[m.group(1)] = time.time()
            return data
        if service == "ecs" and action in ("CreateCapacityProvider", "DescribeCapacityProviders"):
            return self._provisioning(data)
        if service != "rds" or action not in ("DescribeDBInstances", "CreateDBInstance", "ModifyDBInstance"):
            return data
        text = data.decode("utf-8", "replace")

        def rewritten(m):
            block = m.group(0)
            block = re.sub(
                r"<EngineVersion>([^<]*)</EngineVersion>",
                lambda v: f"<EngineVersion>{_full_version(v.group(1))}</EngineVersion>",
                block,
            )
            ident = re.search(r"<DBInstanceIdentifier>([^<]*)</DBInstanceIdentifier>", block)
            if not ident:
                return block
            status = self._rds_status(ident.group(1))
            if status is None:
                return block
            block = re.sub(r"<DBInstanceStatus>[^<]*</DBInstanceStatus>", f"<DBInstanceStatus>{status}</DBInstanceStatus>", block)
            if status == "creating":
                block = re.sub(r"<Endpoint>.*?</Endpoint>", "", block, flags=re.S)
            if status == "modifying":
                _, pending = self.modified[ident.group(1).lower()]
                fields = "".join(f"<{k}>{v}</{k}>" for k, v in pending.items())
                block = block.replace("</DBInstance>", f"<PendingModifiedValues>{fields}</PendingModifiedValues></DBInstance>")
            return block

        text = re.sub(r"<DBInstance>.*?</DBInstance>", rewritten, text, flags=re.S)
        return text.encode()

    def _provisioning(self, data):
        try:
            doc = json.loads(data or b"{}")
        except ValueError:
            return data
        listed = doc.get("capacityProviders") or ([doc["capacityProvider"]] if "capacityProvider" in doc else [])
        for cp in listed:
            if cp.get("status") == "ACTIVE" and self._young(self.capacity_providers.get(cp.get("name")), self.capacity_provider_window):
                cp["status"] = "PROVISIONING"
        return json.dumps(doc).encode()


def _full_version(v):
    """What RDS runs for an asked version: a major one gets the default minor."""
    return f"{v}.{DEFAULT_MINOR}" if re.fullmatch(r"\d+\.\d+", v) else v


# EC2 creates, and where their answer names the new id.
CREATES = {
    "CreateVpc": r"<vpcId>(vpc-[0-9a-f]+)</vpcId>",
    "CreateSubnet": r"<subnetId>(subnet-[0-9a-f]+)</subnetId>",
    "CreateInternetGateway": r"<internetGatewayId>(igw-[0-9a-f]+)</internetGatewayId>",
    "CreateRouteTable": r"<routeTableId>(rtb-[0-9a-f]+)</routeTableId>",
    "CreateSecurityGroup": r"<groupId>(sg-[0-9a-f]+)</groupId>",
}

# Calls that follow a create: the parameter naming what was made, AWS's code and noun.
FOLLOW_UPS = {
    "ModifyVpcAttribute": ("VpcId", "InvalidVpcID.NotFound", "vpc ID"),
    "ModifySubnetAttribute": ("SubnetId", "InvalidSubnetID.NotFound", "subnet ID"),
    "AttachInternetGateway": ("InternetGatewayId", "InvalidInternetGatewayID.NotFound", "internetGateway ID"),
    "CreateRoute": ("RouteTableId", "InvalidRouteTableID.NotFound", "routeTable ID"),
    "AssociateRouteTable": ("RouteTableId", "InvalidRouteTableID.NotFound", "routeTable ID"),
    "AuthorizeSecurityGroupIngress": ("GroupId", "InvalidGroup.NotFound", "security group"),
}
