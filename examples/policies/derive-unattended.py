#!/usr/bin/env python3
# Derives unattended.yaml from software-delivery.yaml: every require_approval becomes deny.
import os, re
HERE = os.path.dirname(os.path.abspath(__file__))
src=open(HERE + '/software-delivery.yaml').read()
head, body = src.split('version: 1\n',1)
header='''# A policy for an UNATTENDED coding agent (a scheduled job, a CI bot, a background task):
# nobody is at hand to answer an approval request, so everything software-delivery.yaml
# sends for approval is denied here, with the same reason. The allow-list, the deny rules
# and the context it reads (`worktree`, `allowed_hosts`, `protected_paths`) are those of
# software-delivery.yaml, rule for rule; documentation hosts stay readable.
#
# Derived from software-delivery.yaml (keep the two in step; the corpus in `corpus/`
# checks both: `lumenflow corpus -p software-delivery.yaml -p unattended.yaml corpus/`).
'''
body='version: 1\n'+body
body=body.replace('name: software-delivery\n','name: unattended\n')
body=re.sub(r'description: .*\n','description: An allow-list for a coding agent nobody supervises; what would need approval is denied.\n',body,1)
body=body.replace('effect: require_approval','effect: deny')
body=re.sub(r'\n    approvers: \[[^\]]*\]','',body)
body=re.sub(r'\n    expires_in: [^\n]*','',body)
body=re.sub(r'\n    quorum: [^\n]*','',body)
body=re.sub(r'\n    # Documentation sites are approved automatically[^\n]*\n    auto_approve: [^\n]*','',body)
body=body.replace('on_exceed: require_approval','on_exceed: deny')
body=re.sub(r'\n    approvers: \[[^\]]*\]','',body)
# docs hosts: an allow rule instead of the automatic approval
old = '''      !host.matches(url.host(action.args.url), has(context.allowed_hosts) ? context.allowed_hosts : ["*.github.com", "github.com"])
    reason: request to a host not on the allow-list'''
assert old in body
body=body.replace(old, '''      !host.matches(url.host(action.args.url), has(context.allowed_hosts) ? context.allowed_hosts : ["*.github.com", "github.com"]) &&
      !host.matches(url.host(action.args.url), ["docs.rs", "docs.python.org", "developer.mozilla.org"])
    reason: request to a host not on the allow-list''')
body=body.replace('''  # --- everywhere ---''','''  - id: http-documentation
    effect: allow
    when: >-
      action.tool == "http" && url.scheme(action.args.url) == "https" &&
      host.matches(url.host(action.args.url), ["docs.rs", "docs.python.org", "developer.mozilla.org"])
    reason: documentation sites

  # --- everywhere ---''')
body=body.replace('''    # Break-glass: a lead may take over another session's worktree, with a reason.
    overridable_by: ["role:lead"]''','''    overridable_by: ["role:lead"]''')
open(HERE + '/unattended.yaml','w').write(header+body)
