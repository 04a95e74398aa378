"""The console proxies (Nova's ``nova-novncproxy`` and ``nova-serialproxy``): websocket
servers that check a console URL's one-time token and join the browser to the guest's
console socket. :mod:`.app` is the ASGI app, :mod:`.connect` reaches the socket."""
