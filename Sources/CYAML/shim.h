// libyaml (Debian's libyaml-dev), for the Pod-spec config file. A system library target rather
// than vendored sources: the distribution's libyaml.a is what the static release binary links.
#include <yaml.h>
