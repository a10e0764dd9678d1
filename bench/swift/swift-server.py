#!/usr/bin/python3
"""Run one Swift WSGI server against a self-contained Swift root.

Usage: swift-server.py SWIFT_DIR LOG_FILE SERVER CONF_FILE
  SERVER is one of account-server, container-server, object-server,
  proxy-server.

Does what /usr/bin/swift-<server> does, with two differences needed for a
Swift root that is not /etc/swift and a machine that may have no syslog:
  * swift.conf (hash path prefix/suffix, storage policies, constraints) is
    read from SWIFT_DIR instead of the hard-coded /etc/swift/swift.conf;
  * log records go to LOG_FILE (with a timestamp) instead of syslog; Swift
    otherwise falls back to UDP syslog on localhost:514 when /dev/log is
    missing, and the records are lost.
"""
import logging
import logging.handlers
import os
import sys
import time


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    swift_dir, log_file, server, conf_file = sys.argv[1:]
    if server not in ('account-server', 'container-server', 'object-server',
                      'proxy-server'):
        sys.exit('unknown server %r' % server)

    # Own session and process group, so that signals to the caller's group
    # do not reach us and stop.sh can signal master and workers together
    # (setup.sh already starts us under setsid; then this is a no-op).
    try:
        os.setsid()
    except OSError:
        pass

    from swift.common import utils
    utils.set_swift_dir(swift_dir)
    from swift.common import constraints, storage_policy
    storage_policy.reload_storage_policies()
    constraints.reload_constraints()

    class FileLogHandler(logging.handlers.WatchedFileHandler):
        """Stands in for Swift's ThreadSafeSysLogHandler."""

        def __init__(self, address=None, facility=None, socktype=None):
            logging.handlers.WatchedFileHandler.__init__(self, log_file)

        def format(self, record):
            stamp = time.strftime('%Y-%m-%dT%H:%M:%S',
                                  time.localtime(record.created))
            return '%s.%03d %s' % (stamp, record.msecs,
                                   logging.handlers.WatchedFileHandler.format(
                                       self, record))

    utils.ThreadSafeSysLogHandler = FileLogHandler

    from swift.common.wsgi import run_wsgi
    sys.argv = [sys.argv[0], conf_file]
    conf_file, options = utils.parse_options()
    kwargs = dict(options)
    if server == 'object-server':
        from swift.obj import server as object_server
        kwargs['global_conf_callback'] = object_server.global_conf_callback
    sys.exit(run_wsgi(conf_file, server, **kwargs))


if __name__ == '__main__':
    main()
