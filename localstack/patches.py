"""Where moto fails a call AWS answers, fixed in place (applied once at start):

- ECS DescribeCapacityProviders without names lists every capacity provider, as AWS does
  (moto raises TypeError).
- ECS ListTaskDefinitions answers 100 revisions a page (or `maxResults`, at most 100) with a
  `nextToken`, sorted by family and revision, as AWS does (moto answers all at once).
- ECS ListTaskDefinitionFamilies honours `status`, as AWS does: ACTIVE lists the families
  with an ACTIVE revision, INACTIVE those without one, ALL (the default) both (moto ignores
  it, so a family whose revisions were all deregistered still came back as ACTIVE).

And where moto's account is newer than some real ones: ap-northeast-1 also has the zone
`ap-northeast-1b` (apne1-az3), which older accounts see and where Fargate does not run.

And where moto recomputes per request what never changes (a third of the time a request
holds the server's lock, measured with py-spy): the list of its service packages (a
directory listing and a stat per package) and the method names of a response class.
"""

import functools

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


def _list_task_definitions_paged(self):
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException

    arns = self.ecs_backend.list_task_definitions(
        self._get_param("familyPrefix"), self._get_param("status", "ACTIVE")
    )

    def order(arn):
        family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
        return (family, int(revision) if revision.isdigit() else 0)

    arns.sort(key=order, reverse=self._get_param("sort") == "DESC")
    size = self._get_param("maxResults") or 100
    if not 1 <= int(size) <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    start = int(self._get_param("nextToken") or 0)
    page = {"taskDefinitionArns": arns[start : start + int(size)]}
    if start + int(size) < len(arns):
        page["nextToken"] = str(start + int(size))
    return ActionResult(page)


def _list_task_definition_families_by_status(self):
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException

    status = self._get_param("status") or "ALL"
    if status not in ("ACTIVE", "INACTIVE", "ALL"):
        raise InvalidParameterException(f"Invalid status {status}: ACTIVE, INACTIVE or ALL.")
    families = []
    for family in self.ecs_backend.list_task_definition_families(self._get_param("familyPrefix")):
        active = any(d.status == "ACTIVE" for d in self.ecs_backend.task_definitions[family].values())
        if status == "ALL" or (status == "ACTIVE") == active:
            families.append(family)
    return ActionResult({"families": families})


def _cache_per_request_lookups():
    from moto import backends
    import moto.core.responses as responses
    from moto.core.utils import method_names_from_class

    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(method_names_from_class)


def apply():
    _cache_per_request_lookups()
    from moto.ecs.responses import EC2ContainerServiceResponse

    EC2ContainerServiceResponse.list_task_definitions = _list_task_definitions_paged
    EC2ContainerServiceResponse.list_task_definition_families = _list_task_definition_families_by_status
    _older_account_zones()
    EC2ContainerServiceBackend.describe_capacity_providers = _describe_all_capacity_providers
