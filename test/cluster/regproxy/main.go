// Command regproxy forwards TCP connections from one address to another:
// scripts/cluster.sh runs it on the host, on the cluster bridge's address,
// in front of the test registry (which listens on 127.0.0.1 only). The
// daemons pull images themselves (the containerd client resolves and
// fetches), from inside their node's network namespace, where the host's
// 127.0.0.1 is out of reach.
//
//	regproxy -listen 192.168.77.1:5000 -to 127.0.0.1:5000
package main

import (
	"flag"
	"io"
	"log"
	"net"
)

func main() {
	listen := flag.String("listen", "192.168.77.1:5000", "address to listen on")
	to := flag.String("to", "127.0.0.1:5000", "address to forward to")
	flag.Parse()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("regproxy: %v", err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatalf("regproxy: accept: %v", err)
		}
		go forward(c, *to)
	}
}

func forward(c net.Conn, to string) {
	defer c.Close()
	u, err := net.Dial("tcp", to)
	if err != nil {
		log.Printf("regproxy: %v", err)
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(u, c); u.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, u); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}
