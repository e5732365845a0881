"""Japanese formats: the same ISO-like dates and 24-hour times as English, so the admin, the
storefront and the step log read alike; month names are Django's Japanese ones.

A time always names its zone ("T": JST, UTC, ...), as the viewer's zone may not be the site's.
"""

DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s T"
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
YEAR_MONTH_FORMAT = "Y年n月"
MONTH_DAY_FORMAT = "n月j日"
