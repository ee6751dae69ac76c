"""AWS's delays, shortened: a new IAM role that ECS cannot assume yet, an RDS instance that
is `creating` (with no endpoint) before it is `available`, and EC2's eventual consistency:
a call that follows the create of a VPC, subnet, internet gateway, route table or security
group may answer NotFound for a moment ("Eventual consistency in the Amazon EC2 API").

In a fresh account, ECS's service-linked role exists only some seconds after the first
cluster: CreateService is refused until then ("Unable to assume the service linked role").

Configure with POST /_provision/delays {"iam_window": 3, "rds_creating": 1, "ec2_eventual": 1,
"ecs_slr_window": 2}, or at start with PROVISION_IAM_WINDOW, PROVISION_RDS_CREATING,
PROVISION_EC2_EVENTUAL and PROVISION_ECS_SLR_WINDOW (seconds; defaults 0, 1, 0 and 0).
"""

import os
import re
import threading
import time

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.core.exceptions import ServiceException
from werkzeug.exceptions import HTTPException

# What moto raises for an AWS error (not-found, invalid): expected, unlike a bug.
MOTO_ERRORS = (ServiceException, HTTPException)


class Delays:
    def __init__(self):
        self.lock = threading.Lock()
        self.iam_window = float(os.environ.get("PROVISION_IAM_WINDOW", "0"))
        self.rds_creating = float(os.environ.get("PROVISION_RDS_CREATING", "1"))
        self.ec2_eventual = float(os.environ.get("PROVISION_EC2_EVENTUAL", "0"))
        self.ec2_created = {}  # EC2 id -> when it was created
        # A fresh account: ECS's service-linked role appears this long after the first cluster.
        self.ecs_slr_window = float(os.environ.get("PROVISION_ECS_SLR_WINDOW", "0"))
        self.first_cluster = None
        self.roles = {}  # role name -> when it was created
        self.databases = {}  # DB identifier -> when it was created

    def configure(self, settings):
        with self.lock:
            self.iam_window = float(settings.get("iam_window", self.iam_window))
            self.rds_creating = float(settings.get("rds_creating", self.rds_creating))
            self.ec2_eventual = float(settings.get("ec2_eventual", self.ec2_eventual))
            if "ecs_slr_window" in settings:
                # The account is fresh from now on: no cluster was made in it yet.
                self.ecs_slr_window = float(settings["ecs_slr_window"])
                self.first_cluster = None
            return {
                "ecs_slr_window": self.ecs_slr_window,
                "iam_window": self.iam_window,
                "rds_creating": self.rds_creating,
                "ec2_eventual": self.ec2_eventual,
            }

    def record(self, service, action, p):
        now = time.time()
        with self.lock:
            if (service, action) == ("ecs", "CreateCluster") and self.first_cluster is None:
                self.first_cluster = now
            if (service, action) == ("iam", "CreateRole"):
                self.roles[p.get("RoleName")] = now
            elif (service, action) == ("rds", "CreateDBInstance"):
                self.databases[(p.get("DBInstanceIdentifier") or "").lower()] = now

    def check(self, service, action, p, region):
        """ECS's refusal to use a role IAM has not spread yet, EC2's NotFound for what was
        made a moment ago, or None."""
        if service == "ec2":
            return self._not_visible_yet(action, p)
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
        """An RDS answer in which young instances are still being created; EC2 ids noted as
        they are made."""
        if service == "ec2" and action in CREATES:
            m = re.search(CREATES[action], data.decode("utf-8", "replace"))
            if m:
                with self.lock:
                    self.ec2_created[m.group(1)] = time.time()
            return data
        if (service, action) != ("rds", "DescribeDBInstances") or not self.rds_creating:
            return data
        text = data.decode("utf-8", "replace")

        def young(block):
            ident = re.search(r"<DBInstanceIdentifier>([^<]*)</DBInstanceIdentifier>", block)
            created = self.databases.get(ident.group(1).lower()) if ident else None
            return created is not None and time.time() - created < self.rds_creating

        def creating(m):
            block = m.group(0)
            if not young(block):
                return block
            block = re.sub(r"<DBInstanceStatus>[^<]*</DBInstanceStatus>", "<DBInstanceStatus>creating</DBInstanceStatus>", block)
            return re.sub(r"<Endpoint>.*?</Endpoint>", "", block, flags=re.S)

        text = re.sub(r"<DBInstance>.*?</DBInstance>", creating, text, flags=re.S)
        return text.encode()


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
