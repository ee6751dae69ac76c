"""AWS's delays, shortened: a new IAM role that ECS cannot assume yet, and an RDS instance
that is `creating` (with no endpoint) before it is `available`.

Configure with POST /_provision/delays {"iam_window": 3, "rds_creating": 1}, or at start with
PROVISION_IAM_WINDOW and PROVISION_RDS_CREATING (seconds; defaults 0 and 1).
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
        self.roles = {}  # role name -> when it was created
        self.databases = {}  # DB identifier -> when it was created

    def configure(self, settings):
        with self.lock:
            self.iam_window = float(settings.get("iam_window", self.iam_window))
            self.rds_creating = float(settings.get("rds_creating", self.rds_creating))
            return {"iam_window": self.iam_window, "rds_creating": self.rds_creating}

    def record(self, service, action, p):
        now = time.time()
        with self.lock:
            if (service, action) == ("iam", "CreateRole"):
                self.roles[p.get("RoleName")] = now
            elif (service, action) == ("rds", "CreateDBInstance"):
                self.databases[(p.get("DBInstanceIdentifier") or "").lower()] = now

    def check(self, service, action, p, region):
        """ECS's refusal to use a role IAM has not spread yet, or None."""
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

    def rewrite(self, service, action, data):
        """An RDS answer in which young instances are still being created."""
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
