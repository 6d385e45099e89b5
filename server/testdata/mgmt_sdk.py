"""Drives ptu with Debian's Python management SDK (azure-mgmt-cognitiveservices)
at its default api-version, logged in through ptu's token service with
azure-identity's ClientSecretCredential (tenant "adfs").

Environment: PTU_URL (https://127.0.0.1:PORT), PTU_TOKEN (a client secret),
PTU_SUBSCRIPTION. Prints one JSON object of what it saw."""
import json
import os

from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (Account, AccountProperties, Deployment, DeploymentModel,
                                                 DeploymentProperties, DeploymentScaleSettings, Sku)

base = os.environ["PTU_URL"]
cred = ClientSecretCredential("adfs", "python-sdk", os.environ["PTU_TOKEN"], authority=base)
client = CognitiveServicesManagementClient(cred, os.environ["PTU_SUBSCRIPTION"], base_url=base,
                                           credential_scopes=[base + "/.default"])
out = {"apiVersion": client._config.api_version}

acct = client.accounts.begin_create(
    "py", "py-aoai",
    Account(location="eastus", kind="OpenAI", sku=Sku(name="S0"),
            properties=AccountProperties(custom_sub_domain_name="py-aoai"))).result()
out["account"] = {"name": acct.name, "state": acct.properties.provisioning_state, "endpoint": acct.properties.endpoint}

dep = client.deployments.begin_create_or_update(
    "py", "py-aoai", "gpt-4o",
    Deployment(properties=DeploymentProperties(
        model=DeploymentModel(format="OpenAI", name="gpt-4o", version="2024-11-20"),
        scale_settings=DeploymentScaleSettings(scale_type="Manual", capacity=50)))).result()
out["deployment"] = {"name": dep.name, "state": dep.properties.provisioning_state,
                     "scaleType": dep.properties.scale_settings.scale_type,
                     "capacity": dep.properties.scale_settings.capacity}

out["deployments"] = [{"name": d.name, "scaleType": d.properties.scale_settings.scale_type,
                       "capacity": d.properties.scale_settings.capacity}
                      for d in client.deployments.list("py", "py-aoai")]
out["usages"] = {u.name.value: u.current_value for u in client.accounts.list_usages("py", "py-aoai").value}
out["keys"] = bool(client.accounts.list_keys("py", "py-aoai").key1)

client.deployments.begin_delete("py", "py-aoai", "gpt-4o").result()
client.accounts.begin_delete("py", "py-aoai").result()
out["accountsAfterDelete"] = [a.name for a in client.accounts.list_by_resource_group("py")]
print(json.dumps(out))
