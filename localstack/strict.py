"""AWS's rules that moto does not enforce, checked before a request reaches moto: deleting
what something still depends on, and a few validations. Each refusal carries AWS's own
error code and message, in the service's protocol. Off with PROVISION_STRICT=0.

Each rule reads moto's backends directly; moto keeps one account (123456789012 for any
access key the emulator is given) and one backend per region.
"""

import json
import os
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

ENABLED = os.environ.get("PROVISION_STRICT", "1") != "0"

# Actions whose rule a test has broken on purpose, to prove the emulator fails closed.
BROKEN = set()

# Fargate task sizes (ECS developer guide): cpu -> allowed memory (MiB).
FARGATE = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}


def params(body, content_type):
    """The request's parameters: a form for query protocols, JSON for the others."""
    text = body.decode("utf-8", "replace")
    if "json" in (content_type or ""):
        try:
            return json.loads(text or "{}")
        except ValueError:
            return {}
    return {k: v[0] for k, v in parse_qs(text).items()}


def check(service, action, p, region):
    """(code, message, http status) of AWS's refusal, or None to let the request through."""
    if not ENABLED:
        return None
    if action in BROKEN:
        raise RuntimeError(f"rule for {action} broken on purpose (POST /_provision/strict/break)")
    rule = RULES.get((service, action))
    if rule is None:
        return None
    # No try here: a rule that breaks (a moto upgrade moved what it reads) must not turn
    # itself off silently. server.py answers HTTP 500 naming the rule instead.
    return rule(p, region)


def _ec2(region):
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT][region]


def _violation(kind, rid):
    return ("DependencyViolation", f"The {kind} '{rid}' has dependencies and cannot be deleted.", 400)


def delete_vpc(p, region):
    b, vpc = _ec2(region), p["VpcId"]
    for by_az in b.subnets.values():
        if any(s.vpc_id == vpc for s in by_az.values()):
            return _violation("vpc", vpc)
    if any(g.name != "default" for g in b.groups.get(vpc, {}).values()):
        return _violation("vpc", vpc)
    if any(ig.vpc is not None and ig.vpc.id == vpc for ig in b.internet_gateways.values()):
        return _violation("vpc", vpc)
    return None


def _live_enis(b):
    """Network interfaces as AWS has them: a terminated instance's went with it (moto
    keeps them)."""
    for eni in b.enis.values():
        inst = getattr(eni, "instance", None)
        if inst is not None and str(getattr(inst, "state", "")) == "terminated":
            continue
        yield eni


def _all_groups(b):
    for groups in b.groups.values():
        yield from groups.values()


def delete_security_group(p, region):
    b = _ec2(region)
    gid = p.get("GroupId")
    if not gid:
        return None
    for g in _all_groups(b):
        if g.id == gid:
            continue
        for rule in list(g.ingress_rules) + list(g.egress_rules):
            if (rule.source_group or {}).get("GroupId") == gid:
                return ("DependencyViolation", f"resource {gid} has a dependent object", 400)
    for eni in _live_enis(b):
        if any(getattr(grp, "id", grp) == gid for grp in eni.group_set):
            return ("DependencyViolation", f"resource {gid} has a dependent object", 400)
    from moto.rds.models import rds_backends

    for db in rds_backends[ACCOUNT][region].databases.values():
        if gid in (db.vpc_security_group_ids or []):
            return ("DependencyViolation", f"resource {gid} has a dependent object", 400)
    return None


def delete_subnet(p, region):
    b, sid = _ec2(region), p["SubnetId"]
    if any(eni.subnet is not None and eni.subnet.id == sid for eni in _live_enis(b)):
        return _violation("subnet", sid)
    return None


def delete_internet_gateway(p, region):
    b, gid = _ec2(region), p["InternetGatewayId"]
    ig = b.internet_gateways.get(gid)
    if ig is not None and ig.vpc is not None:
        return _violation("internetGateway", gid)
    return None


def create_route(p, region):
    """A route to an internet gateway needs the gateway attached to the table's VPC."""
    b, rid, gid = _ec2(region), p.get("RouteTableId"), p.get("GatewayId") or ""
    rt, ig = b.route_tables.get(rid), b.internet_gateways.get(gid)
    if gid.startswith("igw-") and rt is not None and ig is not None:
        if ig.vpc is None or ig.vpc.id != rt.vpc_id:
            return (
                "InvalidParameterValue",
                f"route table {rid} and network gateway {gid} belong to different networks",
                400,
            )
    return None


def associate_route_table(p, region):
    """A subnet has one explicit association; moto hands back the existing one instead."""
    b, rid, sid = _ec2(region), p.get("RouteTableId"), p.get("SubnetId")
    if not sid:
        return None
    if any(sid in rt._associations.values() for rt in b.route_tables.values()):
        return (
            "Resource.AlreadyAssociated",
            f"the specified association for route table {rid} conflicts with an existing association",
            400,
        )
    return None


def delete_route_table(p, region):
    b, rid = _ec2(region), p["RouteTableId"]
    rt = b.route_tables.get(rid)
    if rt is not None and rt.associations:
        return _violation("routeTable", rid)
    return None


def delete_role(p, region):
    from moto.iam.models import iam_backends

    b = iam_backends[ACCOUNT]["global"]
    name = p["RoleName"]
    role = next((r for r in b.roles.values() if r.name == name), None)
    if role is None:
        return None
    if role.managed_policies or role.policies:
        return ("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
    if any(any(r.name == name for r in ip.roles) for ip in b.instance_profiles.values()):
        return ("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.", 409)
    return None


def _ecs(region):
    from moto.ecs.models import ecs_backends

    return ecs_backends[ACCOUNT][region]


def _short(name_or_arn):
    return (name_or_arn or "").rsplit("/", 1)[-1]


def delete_cluster(p, region):
    b, name = _ecs(region), _short(p.get("cluster"))
    if any(s.cluster_name == name and s.status == "ACTIVE" for s in b.services.values()):
        return ("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.", 400)
    import tasks as simulated

    tasks = b.tasks.get(name, {})
    if simulated.tasks_in(name) or any(getattr(t, "last_status", "RUNNING") != "STOPPED" for t in tasks.values()):
        return ("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.", 400)
    if b.container_instances.get(name):
        return (
            "ClusterContainsContainerInstancesException",
            "The Cluster cannot be deleted while Container Instances are active or draining.",
            400,
        )
    return None


def delete_capacity_provider(p, region):
    b, name = _ecs(region), _short(p.get("capacityProvider"))
    for cluster in b.clusters.values():
        if name in (cluster.capacity_providers or []):
            return ("ClientException", "The specified capacity provider is in use and cannot be removed.", 400)
    return None


def create_service(p, region):
    b = _ecs(region)
    cluster, name = _short(p.get("cluster") or "default"), p.get("serviceName")
    existing = b.services.get(f"{cluster}:{name}")
    if existing is not None and existing.status == "ACTIVE":
        return ("InvalidParameterException", "Creation of service was not idempotent.", 400)
    td = b.describe_task_definition(p.get("taskDefinition"))
    if td.network_mode == "awsvpc" and not (p.get("networkConfiguration") or {}).get("awsvpcConfiguration"):
        return (
            "InvalidParameterException",
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            400,
        )
    return _target_groups_balanced(p, region)


def _target_groups_balanced(p, region):
    """ECS refuses a target group that no load balancer's listener or rule forwards to."""
    from moto.elbv2.models import elbv2_backends

    b = elbv2_backends[ACCOUNT][region]
    for lb in p.get("loadBalancers") or []:
        arn = lb.get("targetGroupArn")
        tg = b.target_groups.get(arn)
        if arn and tg is not None and not _forwarded_to(b, arn):
            return (
                "InvalidParameterException",
                f"The target group with targetGroupArn {arn} does not have an associated load balancer.",
                400,
            )
    return None


def _forwarded_to(b, tg_arn):
    """Whether a live listener or rule forwards to the group (moto never forgets one)."""
    for lb in b.load_balancers.values():
        for listener in lb.listeners.values():
            actions = list(listener.default_actions)
            for rule in listener.rules.values():
                actions += list(rule.actions)
            for a in actions:
                if tg_arn in str(getattr(a, "data", "")):
                    return True
    return False


def describe_services(p, region):
    # The API reference: "services: A list of services to describe. You may specify up to 10".
    if len(p.get("services") or []) > 10:
        return ("InvalidParameterException", "services can have at most 10 items.", 400)
    return None


def delete_service(p, region):
    # Without `force`, ECS deletes only a service scaled to 0 (DeleteService, API reference).
    if p.get("force"):
        return None
    b = _ecs(region)
    cluster, name = _short(p.get("cluster") or "default"), _short(p.get("service", ""))
    svc = b.services.get(f"{cluster}:{name}")
    if svc is not None and svc.status == "ACTIVE" and svc.desired_count > 0:
        return ("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.", 400)
    return None


def update_service(p, region):
    return _target_groups_balanced(p, region)


def register_task_definition(p, region):
    compat = p.get("requiresCompatibilities") or []
    if "FARGATE" not in compat:
        return None
    if p.get("networkMode") != "awsvpc":
        return ("ClientException", "Fargate only supports network mode 'awsvpc'.", 400)
    try:
        cpu, memory = int(p.get("cpu")), int(p.get("memory"))
    except (TypeError, ValueError):
        return ("ClientException", "Fargate requires task definition to have execution role ARN to support log driver awslogs, and cpu and memory set.", 400)
    if memory not in FARGATE.get(cpu, []):
        return ("ClientException", "No Fargate configuration exists for given values.", 400)
    return None


def delete_db_subnet_group(p, region):
    from moto.rds.models import rds_backends

    name = p["DBSubnetGroupName"]
    for db in rds_backends[ACCOUNT][region].databases.values():
        group = db.db_subnet_group
        if group is not None and getattr(group, "_name", getattr(group, "name", None)) == name:
            return (
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{name}' because at least one database instance: {db.db_instance_identifier} is still using it.",
                400,
            )
    return None


def delete_db_instance(p, region):
    skip = str(p.get("SkipFinalSnapshot", "false")).lower() == "true"
    if not skip and not p.get("FinalDBSnapshotIdentifier"):
        return (
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
            400,
        )
    return None


def create_db_instance(p, region):
    cls = p.get("DBInstanceClass", "")
    if not cls.startswith("db.") or cls.count(".") != 2:
        return ("InvalidParameterValue", f"Invalid DB Instance class: {cls}", 400)
    storage = int(p.get("AllocatedStorage", "20"))
    if p.get("Engine") in ("mysql", "mariadb", "postgres") and not 20 <= storage <= 65536:
        return ("InvalidParameterValue", "Invalid storage size for engine name " + p.get("Engine") + " and storage type gp2: " + str(storage), 400)
    return None


RULES = {
    ("ec2", "DeleteVpc"): delete_vpc,
    ("ec2", "DeleteSecurityGroup"): delete_security_group,
    ("ec2", "DeleteSubnet"): delete_subnet,
    ("ec2", "DeleteInternetGateway"): delete_internet_gateway,
    ("ec2", "CreateRoute"): create_route,
    ("ec2", "AssociateRouteTable"): associate_route_table,
    ("ec2", "DeleteRouteTable"): delete_route_table,
    ("iam", "DeleteRole"): delete_role,
    ("ecs", "DeleteCluster"): delete_cluster,
    ("ecs", "DeleteCapacityProvider"): delete_capacity_provider,
    ("ecs", "CreateService"): create_service,
    ("ecs", "UpdateService"): update_service,
    ("ecs", "DescribeServices"): describe_services,
    ("ecs", "DeleteService"): delete_service,
    ("ecs", "RegisterTaskDefinition"): register_task_definition,
    ("rds", "DeleteDBSubnetGroup"): delete_db_subnet_group,
    ("rds", "DeleteDBInstance"): delete_db_instance,
    ("rds", "CreateDBInstance"): create_db_instance,
}
