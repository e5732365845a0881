"""Date and time formats for every page Django formats by locale (the admin above all).

One format everywhere: the admin's own fields and our templates and displays agree, so a saga
page never shows "Nov. 29, 2026, 1:30 p.m." next to "2026-11-29 13:30:28".
"""
