"""The filter scheduler: a request spec, Placement's candidates, filters, then weighers.

Placement answers "which nodes have room" race-safely; the filters answer what Placement
cannot know (service health, zones, image and flavor constraints, server groups), and the
weighers order what is left. The conductor claims the best host and tries the next one when
a concurrent claim wins.
"""
