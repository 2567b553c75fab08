"""The control plane: assembling a node and the admin port's APIs.

Owns: building a running node from a resolved app (``node``), the AWS Lambda API
subset served on the admin port (``lambda_api``), and the mapping from template
specs to runtime configs (``app_assembly``). May import every other overcast
package; nothing imports ``control`` but ``cli``.
"""
