"""`python -m bench.admin_times`: server time of every admin page type on the benchmark's
database (run after `make bench HOLDERS=1000000`; docs/api.md §8: under 100 ms at 1M holders).

In-process (Django's test client, production settings of bench/settings.py, the bench
database): the time from request to response inside Django, without the network and the load
generator, median of 7 after 2 warm-ups, with the number of queries."""

import os
import statistics
import sys
import time
from functools import partial

from bench.run import ORG, SECRETS, document

PAGES = [
    ("holder list", "/admin/holders/holder/"),
    ("holder list, all organizations", "/admin/holders/holder/?state=all"),
    ("search by document", "/admin/holders/holder/?q={document}"),
    ("search by name word", "/admin/holders/holder/?q=Oliveira"),
    ("search by name prefix", "/admin/holders/holder/?q=Oliv"),
    ("search by two name words", "/admin/holders/holder/?q=Oliveira+{n}"),
    ("search by e-mail", "/admin/holders/holder/?q=holder{n}%40example.com"),
    # Every phone arm (the data set has no phones: index reads that find nothing).
    ("search by phone", "/admin/holders/holder/?q=%2B55+(11)+91234-5678"),
    ("search by branch and account", "/admin/holders/holder/?q={branch}+{account}"),
    ("search with deleted-matches hint", "/admin/holders/holder/?q=nomatchzz"),
    ("holder change page", "/admin/holders/holder/{holder}/change/"),
    ("holder hard-delete confirmation", "/admin/holders/holder/{holder}/hard-delete/"),
    ("alias list", "/admin/aliases/aliasaccount/"),
    ("alias search by account id", "/admin/aliases/aliasaccount/?q=ACC-{n}"),
    ("alias search by branch and account", "/admin/aliases/aliasaccount/?q={branch}/{account}"),
    ("alias change page", "/admin/aliases/aliasaccount/{alias}/change/"),
    ("audit list", "/admin/crm/auditentry/"),
    ("dashboard", "/admin/dashboard/"),
    ("admin index", "/admin/"),
]


def _count(executed: list[str], execute, sql, params, many, context):
    """`connection.execute_wrapper` hook: note each query of a request."""
    executed.append(sql)
    return execute(sql, params, many, context)


def main(database_url: str) -> None:
    os.environ.update(
        {
            **SECRETS,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "CRM_IGNORE_DOTENV": "true",
            "DATABASE_URL": database_url,
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from aliases.models import AliasAccount
    from holders.models import Holder

    client = Client()
    client.force_login(User.objects.get(username="bench"))
    n = 123_457
    holder = Holder.objects.filter(organization_id=ORG, external_id=f"EXT-{n}").first()
    alias = AliasAccount.objects.filter(organization_id=ORG, account_id=f"ACC-{n}").first()
    values = {
        "document": document(n),
        "n": n,
        "holder": holder.pk,
        "alias": alias.pk,
        # bench/run.py `holder_line`: holder n's account and its branch.
        "branch": f"{n % 500:04d}",
        "account": f"{n:09d}-1",
    }
    print(f"{'page':40} {'median ms':>9} {'max ms':>8} {'queries':>7} status")
    for name, template in PAGES:
        url = template.format(**values)
        executed: list[str] = []
        with connection.execute_wrapper(partial(_count, executed)):  # the first (cold) request
            response = client.get(url)
        times = []
        for _ in range(8):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        times = times[1:]  # after one more warm-up: median of 7
        print(
            f"{name:40} {statistics.median(times):9.1f} {max(times):8.1f} "
            f"{len(executed):7d} {response.status_code}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgres://root@127.0.0.1:5432/crmbench")
