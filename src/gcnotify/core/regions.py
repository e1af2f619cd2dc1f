"""API hosts by region: Genesys Cloud region domains (as the official SDKs list them) and the
SendGrid host of each data residency.

A config naming any other domain fails at load time: a typo in the region would otherwise show up
at 2 a.m. as a DNS error.
"""

from __future__ import annotations

__all__ = ["GENESYS_ENVIRONMENTS", "SENDGRID_HOSTS", "api_url", "login_url", "sendgrid_url"]

# SDK region key -> environment domain (purecloud_region_hosts.py, PureCloudRegionHosts.js).
GENESYS_ENVIRONMENTS: dict[str, str] = {
    "us_east_1": "mypurecloud.com",
    "eu_west_1": "mypurecloud.ie",
    "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp",
    "eu_central_1": "mypurecloud.de",
    "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud",
    "ap_northeast_2": "apne2.pure.cloud",
    "eu_west_2": "euw2.pure.cloud",
    "ap_south_1": "aps1.pure.cloud",
    "us_east_2": "use2.us-gov-pure.cloud",
    "sa_east_1": "sae1.pure.cloud",
    "me_central_1": "mec1.pure.cloud",
    "ap_northeast_3": "apne3.pure.cloud",
    "eu_central_2": "euc2.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud",
    "ap_southeast_1": "apse1.pure.cloud",
    "eusc_de_east_1": "edee1.eusc-pure.cloud",
}


def login_url(environment: str) -> str:
    """OAuth base URL for an environment domain."""
    return f"https://login.{environment}"


def api_url(environment: str) -> str:
    """Platform API base URL for an environment domain."""
    return f"https://api.{environment}"


# EU data-residency subusers must use the EU host; everyone else the global one.
SENDGRID_HOSTS = {"global": "https://api.sendgrid.com", "eu": "https://api.eu.sendgrid.com"}


def sendgrid_url(data_residency: str) -> str:
    """SendGrid API base URL for a data residency (``global`` or ``eu``)."""
    return SENDGRID_HOSTS[data_residency]
