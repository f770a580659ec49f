/* SPDX-License-Identifier: MIT */
/*
 * net_ivc's vdev driver: `--vdev net_ivc0,addr=<ivc address>,role=...`
 * makes a port (probe) and `rte_dev_remove` or EAL cleanup unmakes it.
 * Secondary processes are not supported: a port's channels belong to the
 * process that opened them.
 */
#include <errno.h>
#include <string.h>

#include <ethdev_vdev.h>

#include "dpdk/nivc_pvt.h"

RTE_LOG_REGISTER_DEFAULT(nivc_logtype, NOTICE);

static int port_init(struct rte_eth_dev *dev, const struct nivc_args *a)
{
	struct nivc_port *p = dev->data->dev_private;
	uint16_t q;

	memset(p, 0, sizeof(*p));
	p->dev = dev;
	p->args = *a;
	p->wake_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	if (a->mac_set)
		p->mac = a->mac;
	else
		nivc_default_mac(a, &p->mac);
	for (q = 0; q < NIVC_MAX_QP; q++) {
		p->qp[q].port = p;
		p->qp[q].qid = q;
		p->qp[q].rxq.qp = &p->qp[q];
		p->qp[q].txq.qp = &p->qp[q];
		p->qp[q].intr_fd = p->qp[q].kick_fd = -1;
		if (nivc_intr_queue_init(&p->qp[q]) < 0)
			return -errno;
	}
	p->intr = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (p->intr == NULL || rte_intr_type_set(p->intr, RTE_INTR_HANDLE_EXT) != 0)
		return -ENOMEM;
	dev->intr_handle = p->intr;
	dev->data->mac_addrs = &p->mac;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	dev->data->dev_link.link_speed = RTE_ETH_SPEED_NUM_100G;
	dev->data->dev_link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
	dev->data->dev_link.link_autoneg = RTE_ETH_LINK_FIXED;
	dev->data->promiscuous = 1;
	dev->data->all_multicast = 1;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->dev_ops = &nivc_ops;
	dev->rx_pkt_burst = nivc_rx_burst;
	dev->tx_pkt_burst = nivc_tx_burst;
	return 0;
}

static void port_fini(struct rte_eth_dev *dev)
{
	struct nivc_port *p = dev->data->dev_private;
	uint16_t q;

	for (q = 0; q < NIVC_MAX_QP; q++)
		nivc_intr_queue_fini(&p->qp[q]);
	rte_intr_instance_free(p->intr);
	dev->intr_handle = NULL;
	dev->data->mac_addrs = NULL;
}

static int nivc_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct nivc_args a;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		NIVC_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	rc = nivc_args_parse(name, rte_vdev_device_args(vdev), &a);
	if (rc < 0)
		return rc;
	dev = rte_eth_vdev_allocate(vdev, sizeof(struct nivc_port));
	if (dev == NULL)
		return -ENOMEM;
	rc = port_init(dev, &a);
	if (rc < 0) {
		NIVC_LOG(ERR, "%s: %s", name, strerror(-rc));
		port_fini(dev);
		rte_eth_dev_release_port(dev);
		return rc;
	}
	NIVC_LOG(INFO, "%s: port %u, %s %s%s", name, dev->data->port_id,
		 a.server ? "listening on" : "connecting to", a.addr,
		 a.zc ? ", zero-copy receive" : "");
	rte_eth_dev_probing_finish(dev);
	return 0;
}

static int nivc_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	rte_eth_dev_close(dev->data->port_id);
	return 0;
}

static struct rte_vdev_driver nivc_driver = {
	.probe = nivc_probe,
	.remove = nivc_remove,
};

RTE_PMD_REGISTER_VDEV(net_ivc, nivc_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_ivc,
	"addr=<ivc address> "
	"role=server|client "
	"zc=0|1 "
	"mac=<xx:xx:xx:xx:xx:xx> "
	"slots=<descriptors> "
	"bufsize=<bytes> "
	"bufs=<buffers> "
	"allow=<domid>[:<domid>...]");
