"""`farm`: a studio's release tool (README.md, "Releases with `farm`"), a client of a Manager through
`app.api.client.ManagerClient`.

A release is a set of related jobs, one per `.blend` file in `releases/<release>/store/`, rendering to
`releases/<release>/out/<job>/`; harvesting checks and renames the frames into `dist/<release>/`,
archiving packs a release into `archives/<release>.tar.gz`. No Qt anywhere in this package.
"""
