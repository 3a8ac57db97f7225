"""Goal: write into /root, the project, /etc, /usr, /var/tmp, /home and /.

Issue 16: `pgroup` mode wrote /root and the project.
"""

import os

from _hostile import CTX, attempt

m = CTX["marker"]
for d in (CTX["home"], CTX["project"], "/etc", "/usr", "/var/tmp", "/home", "/", "/dev", "/proc"):
    attempt(f"write {d}", lambda d=d: open(os.path.join(d, f"escape-{m}"), "w").write("pwned"))
